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
    // The account Terraform creates for Cloud Build where the registry is (the platform module's
    // `cloud_build`): it may push to the repository and write logs, nothing else.
    let service_account = super::terraform::artifact_registry(registry).map(|r| {
        format!(
            "projects/{project}/serviceAccounts/{name}-cloud-build@{project}.iam.gserviceaccount.com",
            project = r.project,
            name = platform.name
        )
    });
    add_yaml(
        files,
        CLOUDBUILD_PATH,
        &CloudBuildYaml {
            images,
            service_account,
        }
        .render()?,
    );
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
    /// The build's own service account (`projects/<p>/serviceAccounts/<email>`), when the
    /// registry is an Artifact Registry repository Terraform creates.
    service_account: Option<String>,
}
