//! Image build inputs rendered from platform.toml (`cloudbuild.yaml`): one image per service,
//! tagged with the git SHA.
//!
//! Every service is built from the shared root `Dockerfile` (`--build-arg SERVICE=<name>`) and
//! pushed to `platform.registry` as `<registry>/<service>:$SHORT_SHA` and `:$COMMIT_SHA`; the
//! image pipeline then sets `image_tag` in platform.toml to the commit, so the manifests name
//! exactly what was built.

use askama::Template;

use super::{add_yaml, filters};
use crate::codegen::Files;
use crate::model::Platform;

/// Where the rendered Cloud Build configuration lives.
pub const CLOUDBUILD_PATH: &str = "cloudbuild.yaml";

pub(super) fn render(platform: &Platform, files: &mut Files) -> anyhow::Result<()> {
    let registry = platform.registry.trim_end_matches('/');
    let images = platform
        .services
        .keys()
        .map(|name| Image {
            id: format!("build-{name}"),
            build_arg: format!("SERVICE={name}"),
            short: format!("{registry}/{name}:$SHORT_SHA"),
            full: format!("{registry}/{name}:$COMMIT_SHA"),
        })
        .collect();
    add_yaml(files, CLOUDBUILD_PATH, &CloudBuildYaml { images }.render()?);
    Ok(())
}

/// One service's build step and tags.
struct Image {
    id: String,
    build_arg: String,
    short: String,
    full: String,
}

#[derive(Template)]
#[template(path = "images/cloudbuild.yaml", escape = "none")]
struct CloudBuildYaml {
    images: Vec<Image>,
}
