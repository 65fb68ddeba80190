//! The Dockerfile of one image: the static binary alone in `FROM scratch`, a non-root user, the
//! deployable's ports and the OCI labels (the source label from the workspace manifest).

use crate::deployables::Deployable;

/// The user the images run as (distroless' `nonroot`); a scratch image has no `/etc/passwd`.
pub const IMAGE_USER: &str = "65532:65532";

/// The OCI labels of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels {
    /// The binary's name.
    pub title: String,
    /// The version tag, `0.1.0-9abcb1e`.
    pub version: String,
    /// The full commit.
    pub revision: String,
    /// The repository URL.
    pub source: String,
    /// RFC 3339 build time.
    pub created: String,
}

/// The Dockerfile of `deployable`'s image: the static binary alone, a non-root user, its
/// variables ([`Deployable::image_env`]), its ports.
pub fn dockerfile(deployable: &Deployable, labels: &Labels) -> String {
    let name = deployable.name;
    let mut text = format!("FROM scratch\nCOPY {name} /{name}\nUSER {IMAGE_USER}\n");
    for (key, value) in deployable.image_env {
        text.push_str(&format!("ENV {key}={}\n", serde_json::Value::from(*value)));
    }
    for (_, port) in deployable.ports {
        text.push_str(&format!("EXPOSE {port}\n"));
    }
    let pairs = [
        ("title", &labels.title),
        ("version", &labels.version),
        ("revision", &labels.revision),
        ("source", &labels.source),
        ("created", &labels.created),
    ];
    text.push_str("LABEL");
    for (key, value) in pairs {
        text.push_str(&format!(
            " \\\n      org.opencontainers.image.{key}={}",
            serde_json::Value::from(value.as_str())
        ));
    }
    text.push_str(&format!("\nENTRYPOINT [\"/{name}\"]\n"));
    text
}

/// `[workspace.package] repository` of the root `Cargo.toml` text (the OCI `source` label).
pub fn workspace_repository(manifest: &str) -> Option<String> {
    let mut in_section = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(value) = line
                .strip_prefix("repository")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='))
            {
                return Some(value.trim().trim_matches('"').to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployables;

    fn labels() -> Labels {
        Labels {
            title: "accountd".into(),
            version: "0.1.0-9abcb1e".into(),
            revision: "9abcb1e0123".into(),
            source: "https://github.com/mockvideo/mockvideo".into(),
            created: "2026-11-22T18:00:00Z".into(),
        }
    }

    #[test]
    fn the_dockerfile_is_scratch_non_root_labelled_and_exposes_every_port() {
        let activity = deployables::find("activity-server").unwrap();
        let text = dockerfile(activity, &labels());
        assert!(text.starts_with("FROM scratch\nCOPY activity-server /activity-server\n"));
        assert!(text.contains("USER 65532:65532\n"), "{text}");
        assert!(text.contains("EXPOSE 50051\nEXPOSE 9091\n"), "{text}");
        assert!(text.contains("org.opencontainers.image.title=\"accountd\""));
        assert!(text.contains("org.opencontainers.image.revision=\"9abcb1e0123\""));
        assert!(text.contains("org.opencontainers.image.created=\"2026-11-22T18:00:00Z\""));
        assert!(
            text.ends_with("ENTRYPOINT [\"/activity-server\"]\n"),
            "{text}"
        );
    }

    #[test]
    fn the_fault_proxy_image_listens_on_every_interface() {
        let proxy = deployables::find("fault-proxy").unwrap();
        let text = dockerfile(proxy, &labels());
        assert!(
            text.contains("USER 65532:65532\nENV FAULT_PROXY_HOST=\"0.0.0.0\"\nEXPOSE 8474\n"),
            "{text}"
        );
        let activity = deployables::find("activity-server").unwrap();
        assert!(!dockerfile(activity, &labels()).contains("ENV "));
    }

    #[test]
    fn the_source_label_is_the_workspace_repository() {
        let manifest = "[package]\nrepository = \"no\"\n[workspace.package]\nversion = \"0.1.0\"\n\
                        repository = \"https://github.com/mockvideo/mockvideo\"\n[x]\n";
        assert_eq!(
            workspace_repository(manifest).as_deref(),
            Some("https://github.com/mockvideo/mockvideo")
        );
        assert_eq!(
            workspace_repository("[package]\nrepository = \"no\"\n"),
            None
        );
    }
}
