//! Validation of `helm template` output against the Kubernetes API types of `k8s-openapi`
//! (v1.30): every manifest is parsed into the type of its `apiVersion`/`kind`, and any field the
//! type does not know is reported with its path. k8s-openapi's types ignore unknown fields when
//! deserialising, so the check compares the manifest with a re-serialisation of the parsed value:
//! a key that does not survive the round trip is a field the API does not have.
//!
//! [`check_hardening`] then checks what every environment must keep beyond the API's shape: the
//! pods' seccomp profile, size-limited emptyDirs, non-root containers, a NetworkPolicy for every
//! workload plus a default-deny one, Ingresses with only API paths (and TLS in prod), no MySQL
//! `GRANT ALL` / `WITH GRANT OPTION`, and `MOCKVIDEO_ENV=prod` on every prod service.

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
        ("networking.k8s.io/v1", "NetworkPolicy") => {
            round_trip::<networking::v1::NetworkPolicy>(&document)
        }
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

/// Paths an Ingress must never route: the metrics and the probes stay inside the cluster, and
/// `/` would route them all.
pub const PRIVATE_PATHS: [&str; 6] = ["/", "/metrics", "/livez", "/readyz", "/healthz", "/healthy"];

/// The workloads (Deployments and StatefulSets) of a rendering: source, kind, name, pod template.
fn workloads(documents: &[(String, Value)]) -> Vec<(&str, &str, &str, &Value)> {
    documents
        .iter()
        .filter_map(|(source, document)| {
            let kind = document.get("kind").and_then(Value::as_str)?;
            if !matches!(kind, "Deployment" | "StatefulSet") {
                return None;
            }
            let name = document.pointer("/metadata/name").and_then(Value::as_str)?;
            let template = document.pointer("/spec/template")?;
            Some((source.as_str(), kind, name, template))
        })
        .collect()
}

/// Whether a label selector (`matchLabels`, `matchExpressions` with `In`/`Exists`) selects
/// `labels`. Other operators count as not selecting.
fn selects(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|wanted| {
            wanted
                .iter()
                .all(|(key, value)| labels.get(key) == Some(value))
        })
        .unwrap_or(true);
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(|expressions| {
            expressions.iter().all(|expression| {
                let key = expression.get("key").and_then(Value::as_str).unwrap_or("");
                let value = labels.get(key);
                match expression.get("operator").and_then(Value::as_str) {
                    Some("In") => expression
                        .get("values")
                        .and_then(Value::as_array)
                        .is_some_and(|values| value.is_some_and(|value| values.contains(value))),
                    Some("Exists") => value.is_some(),
                    _ => false,
                }
            })
        })
        .unwrap_or(true);
    match_labels && expressions
}

/// Every hardening problem of `rendered` (the output of `helm template`); `prod` adds the
/// production-only rules (Ingress TLS, `MOCKVIDEO_ENV=prod`).
pub fn check_hardening(rendered: &str, prod: bool) -> Vec<Problem> {
    let documents: Vec<(String, Value)> = split_documents(rendered)
        .into_iter()
        .filter_map(|(source, body)| {
            serde_yaml::from_str::<Value>(&body)
                .ok()
                .map(|document| (source, document))
        })
        .collect();
    let mut problems = Vec::new();
    let mut problem = |source: &str, path: &str, message: String| {
        problems.push(Problem {
            source: source.to_string(),
            path: path.to_string(),
            message,
        })
    };
    let policies: Vec<&Value> = documents
        .iter()
        .filter(|(_, document)| {
            document.get("kind").and_then(Value::as_str) == Some("NetworkPolicy")
        })
        .map(|(_, document)| document)
        .collect();
    let empty = serde_json::Map::new();
    let workloads = workloads(&documents);
    for (source, kind, name, template) in &workloads {
        let spec = &template["spec"];
        if spec
            .pointer("/securityContext/seccompProfile/type")
            .and_then(Value::as_str)
            != Some("RuntimeDefault")
        {
            problem(
                source,
                "spec.template.spec.securityContext.seccompProfile.type",
                format!("{kind} {name}: the pod needs the seccomp profile RuntimeDefault"),
            );
        }
        for (index, volume) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
            if let Some(empty_dir) = volume.get("emptyDir") {
                if empty_dir.get("sizeLimit").is_none_or(Value::is_null) {
                    problem(
                        source,
                        &format!("spec.template.spec.volumes[{index}].emptyDir.sizeLimit"),
                        format!("{kind} {name}: every emptyDir needs a sizeLimit"),
                    );
                }
            }
        }
        let pod_non_root =
            spec.pointer("/securityContext/runAsNonRoot") == Some(&Value::Bool(true));
        for list in ["initContainers", "containers"] {
            for (index, container) in spec[list].as_array().into_iter().flatten().enumerate() {
                let context = &container["securityContext"];
                let non_root = match context.get("runAsNonRoot") {
                    Some(Value::Bool(value)) => *value,
                    _ => pod_non_root,
                };
                let added: Vec<&str> = context
                    .pointer("/capabilities/add")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let drops_all = context
                    .pointer("/capabilities/drop")
                    .and_then(Value::as_array)
                    .is_some_and(|drop| drop.iter().any(|cap| cap == "ALL"));
                // The one root step allowed: an init container that can only chown.
                let chown_only = list == "initContainers" && drops_all && added == ["CHOWN"];
                if !non_root && !chown_only {
                    problem(
                        source,
                        &format!("spec.template.spec.{list}[{index}].securityContext.runAsNonRoot"),
                        format!(
                            "{kind} {name}: container {} may run as root (only an init container \
                             with just CAP_CHOWN may)",
                            container["name"].as_str().unwrap_or("?")
                        ),
                    );
                }
                if prod && *kind == "Deployment" && list == "containers" {
                    let prod_env = container["env"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|var| var["name"] == "MOCKVIDEO_ENV" && var["value"] == "prod");
                    if !prod_env {
                        problem(
                            source,
                            &format!("spec.template.spec.containers[{index}].env"),
                            format!("{kind} {name}: prod services need MOCKVIDEO_ENV=prod"),
                        );
                    }
                }
            }
        }
        let labels = template
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let covered = policies.iter().any(|policy| {
            let types = policy
                .pointer("/spec/policyTypes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let selector = &policy["spec"]["podSelector"];
            let own = selector
                .as_object()
                .is_some_and(|selector| !selector.is_empty());
            own && selects(selector, labels)
                && types.contains(&Value::from("Ingress"))
                && types.contains(&Value::from("Egress"))
        });
        if !covered {
            problem(
                source,
                "",
                format!(
                    "{kind} {name}: no NetworkPolicy of its own (podSelector matching its pods, \
                     policyTypes Ingress and Egress)"
                ),
            );
        }
    }
    let default_deny = policies.iter().any(|policy| {
        let spec = &policy["spec"];
        let all_pods = spec["podSelector"]
            .as_object()
            .is_some_and(|selector| selector.is_empty());
        let types = spec["policyTypes"].as_array().cloned().unwrap_or_default();
        let no_rules = |key: &str| spec[key].as_array().is_none_or(Vec::is_empty);
        all_pods
            && types.contains(&Value::from("Ingress"))
            && types.contains(&Value::from("Egress"))
            && no_rules("ingress")
            && no_rules("egress")
    });
    if !workloads.is_empty() && !default_deny {
        problem(
            "",
            "",
            "no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no \
             rules)"
                .to_string(),
        );
    }
    for (source, document) in &documents {
        let kind = document["kind"].as_str().unwrap_or("");
        let name = document
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        match kind {
            "Ingress" => {
                let spec = &document["spec"];
                for (rule_index, rule) in spec["rules"].as_array().into_iter().flatten().enumerate()
                {
                    let paths = rule.pointer("/http/paths").and_then(Value::as_array);
                    for (index, path) in paths.into_iter().flatten().enumerate() {
                        let text = path["path"].as_str().unwrap_or("/");
                        let private = PRIVATE_PATHS.iter().any(|private| {
                            text == *private
                                || (*private != "/" && text.starts_with(&format!("{private}/")))
                        });
                        if private {
                            problem(
                                source,
                                &format!("spec.rules[{rule_index}].http.paths[{index}].path"),
                                format!("Ingress {name}: {text} is not an API path"),
                            );
                        }
                    }
                    if prod {
                        let host = rule["host"].as_str().unwrap_or("");
                        let tls = spec["tls"].as_array().into_iter().flatten().any(|tls| {
                            tls.get("secretName")
                                .and_then(Value::as_str)
                                .is_some_and(|s| !s.is_empty())
                                && (host.is_empty()
                                    || tls["hosts"]
                                        .as_array()
                                        .is_some_and(|hosts| hosts.iter().any(|h| h == host)))
                        });
                        if !tls {
                            problem(
                                source,
                                "spec.tls",
                                format!("Ingress {name}: prod serves {host:?} only over TLS"),
                            );
                        }
                    }
                }
            }
            "ConfigMap" | "Secret" => {
                for key in ["data", "stringData"] {
                    for (file, value) in document[key].as_object().into_iter().flatten() {
                        let text = value
                            .as_str()
                            .unwrap_or("")
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                            .to_lowercase();
                        for grant in ["grant all", "with grant option"] {
                            if text.contains(grant) {
                                problem(
                                    source,
                                    &format!("{key}.{file}"),
                                    format!(
                                        "{kind} {name}: MySQL `{}`: give each service only the \
                                         privileges it needs",
                                        grant.to_uppercase()
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    problems
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

    /// A hardened rendering: a Deployment with its NetworkPolicy, a default-deny policy, an
    /// Ingress over TLS with an API path, and a MySQL init script with narrow grants.
    const HARDENED: &str = r#"---
# Source: mockvideo/charts/accountd/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: accountd
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: accountd
  template:
    metadata:
      labels:
        app.kubernetes.io/name: accountd
        app.kubernetes.io/instance: mockvideo
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: accountd
          image: a
          env:
            - name: MOCKVIDEO_ENV
              value: prod
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 16Mi
---
# Source: mockvideo/templates/backing.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: mysql
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: mysql
  template:
    metadata:
      labels:
        app.kubernetes.io/name: mysql
    spec:
      securityContext:
        seccompProfile:
          type: RuntimeDefault
      initContainers:
        - name: prepare-data
          image: m
          securityContext:
            runAsUser: 0
            capabilities:
              drop: ["ALL"]
              add: ["CHOWN"]
      containers:
        - name: mysql
          image: m
          securityContext:
            runAsNonRoot: true
---
# Source: mockvideo/charts/accountd/templates/networkpolicy.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: accountd
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: accountd
  policyTypes: [Ingress, Egress]
---
# Source: mockvideo/templates/networkpolicy.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: mysql
spec:
  podSelector:
    matchExpressions:
      - key: app.kubernetes.io/name
        operator: In
        values: [mysql]
  policyTypes: [Ingress, Egress]
  egress: []
---
# Source: mockvideo/templates/networkpolicy.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
# Source: mockvideo/charts/accountd/templates/ingress.yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: accountd
spec:
  tls:
    - secretName: accountd-tls
      hosts: [accountd.example]
  rules:
    - host: accountd.example
      http:
        paths:
          - path: /users
            pathType: Prefix
            backend:
              service:
                name: accountd
                port:
                  name: http
---
# Source: mockvideo/templates/backing.yaml
apiVersion: v1
kind: Secret
metadata:
  name: backing-credentials
stringData:
  mysql-init.sql: |
    REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'accountd'@'%';
    GRANT SELECT, INSERT ON `mockvideo`.* TO 'accountd'@'%';
"#;

    fn shown(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_hardened_rendering_passes_in_every_environment() {
        assert!(validate_rendered(HARDENED).is_ok());
        assert_eq!(
            shown(&check_hardening(HARDENED, true)),
            Vec::<String>::new()
        );
        assert_eq!(
            shown(&check_hardening(HARDENED, false)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_pod_without_seccomp_or_an_unbounded_emptydir_fails() {
        let rendering = HARDENED
            .replacen("type: RuntimeDefault", "type: Unconfined", 1)
            .replace("            sizeLimit: 16Mi\n", "");
        let problems = shown(&check_hardening(&rendering, false));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("seccompProfile.type"), "{problems:?}");
        assert!(
            problems[1].contains("volumes[0].emptyDir.sizeLimit"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_root_container_fails_unless_it_can_only_chown() {
        let rendering = HARDENED.replace("add: [\"CHOWN\"]", "add: [\"CHOWN\", \"SETUID\"]");
        let problems = shown(&check_hardening(&rendering, false));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("prepare-data may run as root"),
            "{problems:?}"
        );
        let rendering = HARDENED.replace("runAsNonRoot: true\n        seccomp", "seccomp");
        let problems = shown(&check_hardening(&rendering, false));
        assert!(
            problems[0].contains("container accountd may run as root"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_workload_needs_its_network_policy_and_the_namespace_a_default_deny() {
        let rendering = HARDENED.replace("values: [mysql]", "values: [redis]");
        let problems = shown(&check_hardening(&rendering, false));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("StatefulSet mysql: no NetworkPolicy"),
            "{problems:?}"
        );
        let rendering = HARDENED.replace(
            "name: default-deny\nspec:\n  podSelector: {}",
            "name: x\nspec:\n  podSelector: {matchLabels: {a: b}}",
        );
        let problems = shown(&check_hardening(&rendering, false));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("no default-deny NetworkPolicy"),
            "{problems:?}"
        );
    }

    #[test]
    fn ingresses_route_only_api_paths_and_prod_needs_tls() {
        let rendering = HARDENED.replace("path: /users", "path: /metrics");
        let problems = shown(&check_hardening(&rendering, false));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("paths[0].path: Ingress accountd: /metrics is not an API path"),
            "{problems:?}"
        );
        let rendering = HARDENED.replace("secretName: accountd-tls", "secretName: \"\"");
        assert!(check_hardening(&rendering, false).is_empty());
        let problems = shown(&check_hardening(&rendering, true));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("only over TLS"), "{problems:?}");
    }

    #[test]
    fn grant_all_and_grant_option_fail() {
        let rendering = HARDENED.replace(
            "GRANT SELECT, INSERT ON",
            "GRANT   ALL ON *.* TO 'test'@'%' WITH GRANT OPTION;\n    GRANT SELECT ON",
        );
        let problems = shown(&check_hardening(&rendering, false));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("stringData.mysql-init.sql"),
            "{problems:?}"
        );
        assert!(problems[0].contains("GRANT ALL"), "{problems:?}");
        assert!(problems[1].contains("WITH GRANT OPTION"), "{problems:?}");
    }

    #[test]
    fn prod_services_need_mockvideo_env_prod() {
        let rendering = HARDENED.replace("value: prod", "value: dev");
        assert!(check_hardening(&rendering, false).is_empty());
        let problems = shown(&check_hardening(&rendering, true));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("MOCKVIDEO_ENV=prod"), "{problems:?}");
    }

    #[test]
    fn the_grant_script_and_the_in_cluster_mysql_give_the_same_narrow_privileges() {
        let root = crate::paths::repo_root();
        let script = std::fs::read_to_string(root.join("sql/grants.sql")).unwrap();
        let template =
            std::fs::read_to_string(root.join("helm/mockvideo/templates/backing.yaml")).unwrap();
        let privileges = "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER ON `";
        assert_eq!(script.matches(privileges).count(), 2, "{script}");
        assert!(
            template.contains(privileges),
            "backing.yaml grants differently"
        );
        let statements: String = script
            .lines()
            .filter(|line| !line.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
            .to_lowercase();
        assert!(!statements.contains("grant all"), "{script}");
        assert!(!statements.contains("grant option"), "{script}");
    }
}
