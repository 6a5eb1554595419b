//! Terraform inputs rendered from platform.toml: `terraform/envs/<env>/platform.auto.tfvars.json`
//! (per-service identities, secrets and databases), so cloud and cluster cannot disagree.

use crate::codegen::Files;
use crate::model::{Environment, Platform};

pub(super) fn render(
    platform: &Platform,
    env: &Environment,
    files: &mut Files,
) -> anyhow::Result<()> {
    let _ = (platform, env, files);
    Ok(())
}
