//! Validation of `helm template` output against the Kubernetes API types of `k8s-openapi`
//! (v1.30): every manifest is parsed into the type of its `apiVersion`/`kind`, and any field the
//! type does not know is reported with its path. k8s-openapi's types ignore unknown fields when
//! deserialising, so the check compares the manifest with a re-serialisation of the parsed value:
//! a key that does not survive the round trip is a field the API does not have.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::{apps, autoscaling, core, networking, policy};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

/// One manifest of the rendered output.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The template it came from (helm's `# Source:` comment), e.g.
    /// `mockvideo/charts/accountd/templates/deployment.yaml`.
    pub source: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
}

/// What went wrong with one manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The template it came from.
    pub source: String,
    /// The field path (`spec.template.spec.containers[0].imagePullPolice`), empty for the whole
    /// manifest.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.source, self.message)
        } else {
            write!(f, "{}: {}: {}", self.source, self.path, self.message)
        }
    }
}

/// Splits `rendered` (the output of `helm template`) into documents with their `# Source:`.
/// Empty documents are dropped.
pub fn split_documents(rendered: &str) -> Vec<(String, String)> {
    let mut documents = Vec::new();
    let mut source = String::new();
    let mut body = String::new();
    let mut flush = |source: &str, body: &mut String| {
        let has_content = body
            .lines()
            .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
        if has_content {
            documents.push((source.to_string(), std::mem::take(body)));
        }
        body.clear();
    };
    for line in rendered.lines() {
        if line.trim_end() == "---" {
            flush(&source, &mut body);
            source.clear();
            continue;
        }
        if let Some(path) = line.strip_prefix("# Source: ") {
            if body.trim().is_empty() {
                source = path.trim().to_string();
            }
        }
        body.push_str(line);
        body.push('\n');
    }
    flush(&source, &mut body);
    documents
}

/// Parses and checks every manifest of `rendered`; returns them all, or every problem found.
pub fn validate_rendered(rendered: &str) -> Result<Vec<Manifest>, Vec<Problem>> {
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    for (source, body) in split_documents(rendered) {
        match validate_document(&source, &body) {
            Ok(manifest) => manifests.push(manifest),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() {
        Ok(manifests)
    } else {
        Err(problems)
    }
}

/// One document: YAML → JSON value → the k8s-openapi type for its kind → back, compared.
pub fn validate_document(source: &str, body: &str) -> Result<Manifest, Vec<Problem>> {
    let problem = |path: &str, message: String| Problem {
        source: source.to_string(),
        path: path.to_string(),
        message,
    };
    let document: Value = serde_yaml::from_str(body)
        .map_err(|error| vec![problem("", format!("not valid YAML: {error}"))])?;
    let text = |key: &str| {
        document
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    let name = document
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let round_trip = match (api_version.as_str(), kind.as_str()) {
        ("v1", "ConfigMap") => round_trip::<core::v1::ConfigMap>(&document),
        ("v1", "Secret") => round_trip::<core::v1::Secret>(&document),
        ("v1", "Service") => round_trip::<core::v1::Service>(&document),
        ("v1", "Endpoints") => round_trip::<core::v1::Endpoints>(&document),
        ("v1", "ServiceAccount") => round_trip::<core::v1::ServiceAccount>(&document),
        ("v1", "PersistentVolumeClaim") => round_trip::<core::v1::PersistentVolumeClaim>(&document),
        ("apps/v1", "Deployment") => round_trip::<apps::v1::Deployment>(&document),
        ("apps/v1", "StatefulSet") => round_trip::<apps::v1::StatefulSet>(&document),
        ("policy/v1", "PodDisruptionBudget") => {
            round_trip::<policy::v1::PodDisruptionBudget>(&document)
        }
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            round_trip::<autoscaling::v2::HorizontalPodAutoscaler>(&document)
        }
        ("networking.k8s.io/v1", "Ingress") => round_trip::<networking::v1::Ingress>(&document),
        _ => {
            return Err(vec![problem(
                "",
                format!(
                    "unknown kind {kind:?} of apiVersion {api_version:?} (not one of the kinds \
                     xtask validates; add it to deploy::validate if it is right)"
                ),
            )])
        }
    };
    let reserialised = round_trip.map_err(|error| {
        vec![problem(
            "",
            format!("{kind} {name:?} does not parse: {error}"),
        )]
    })?;
    let mut unknown = Vec::new();
    unknown_fields(&document, &reserialised, "", &mut unknown);
    if unknown.is_empty() {
        Ok(Manifest {
            source: source.to_string(),
            api_version,
            kind,
            name,
        })
    } else {
        Err(unknown
            .into_iter()
            .map(|path| problem(&path, "unknown field".to_string()))
            .collect())
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(document: &Value) -> Result<Value, String> {
    let parsed: T = serde_json::from_value(document.clone()).map_err(|error| error.to_string())?;
    serde_json::to_value(&parsed).map_err(|error| error.to_string())
}

/// Paths of the keys of `original` (non-null) that `reserialised` lacks.
fn unknown_fields(original: &Value, reserialised: &Value, path: &str, out: &mut Vec<String>) {
    match (original, reserialised) {
        (Value::Object(fields), Value::Object(kept)) => {
            for (key, value) in fields {
                if value.is_null() {
                    continue;
                }
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match kept.get(key) {
                    Some(next) => unknown_fields(value, next, &here, out),
                    None => out.push(here),
                }
            }
        }
        (Value::Array(items), Value::Array(kept)) => {
            for (index, (item, next)) in items.iter().zip(kept).enumerate() {
                unknown_fields(item, next, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

/// Counts of manifests per kind, e.g. `Deployment 8, Service 9, …`.
pub fn count_kinds(manifests: &[Manifest]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for manifest in manifests {
        *counts.entry(manifest.kind.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "---
# Source: mockvideo/charts/accountd/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: accountd
  labels:
    app.kubernetes.io/name: accountd
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: accountd
  template:
    metadata:
      labels:
        app.kubernetes.io/name: accountd
    spec:
      containers:
        - name: accountd
          image: local/mockvideo/accountd:0.1.0-abc-amd64
          imagePullPolicy: IfNotPresent
          livenessProbe:
            httpGet:
              path: /livez
              port: http
          resources:
            limits:
              memory: 128Mi
      volumes:
        - name: tmp
          emptyDir: {}
---
# Source: mockvideo/charts/accountd/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: accountd
spec:
  ports:
    - name: http
      port: 5000
      targetPort: http
";

    #[test]
    fn a_valid_rendering_parses_into_its_kinds() {
        let manifests = validate_rendered(DEPLOYMENT).unwrap();
        assert_eq!(manifests.len(), 2);
        assert_eq!(
            manifests[0].source,
            "mockvideo/charts/accountd/templates/deployment.yaml"
        );
        assert_eq!(manifests[1].name, "accountd");
        assert_eq!(count_kinds(&manifests), "Deployment 1, Service 1");
    }

    #[test]
    fn a_misspelt_field_fails_naming_its_path() {
        let broken = DEPLOYMENT.replace("imagePullPolicy", "imagePullPolice");
        let problems = validate_rendered(&broken).unwrap_err();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["mockvideo/charts/accountd/templates/deployment.yaml: \
              spec.template.spec.containers[0].imagePullPolice: unknown field"]
        );
    }

    #[test]
    fn unknown_kinds_and_wrong_types_fail() {
        let kind = DEPLOYMENT.replace("kind: Service", "kind: Servise");
        let problems = validate_rendered(&kind).unwrap_err();
        assert!(
            problems[0].message.contains("unknown kind \"Servise\""),
            "{problems:?}"
        );
        let typed = DEPLOYMENT.replace("replicas: 1", "replicas: one");
        let problems = validate_rendered(&typed).unwrap_err();
        assert!(
            problems[0].message.contains("does not parse"),
            "{problems:?}"
        );
        assert_eq!(problems[0].path, "");
    }

    #[test]
    fn documents_split_on_separators_with_their_sources() {
        let documents = split_documents(
            "---\n# Source: a.yaml\n# only a comment\n---\n# Source: b.yaml\nkind: X\n",
        );
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0].0, "b.yaml");
    }
}
