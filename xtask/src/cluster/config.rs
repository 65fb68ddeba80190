//! What the local cluster runs, as plain data: its files under `target/cluster/`, its loopback
//! ports, the start command of each process, the kubelet's configuration, the kubeconfig and
//! the openssl commands making its credentials (recipe: `../shared/kubernetes.md` §2.4–2.5).
//! Everything listens on 127.0.0.1 only.

use std::path::{Path, PathBuf};

use crate::cmd::Cmd;

use super::build::{Layout, PAUSE_IMAGE};

/// The kube context and cluster name written to the kubeconfig.
pub const CONTEXT: &str = "mockvideo-local";

/// The loopback ports the cluster uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// etcd clients.
    pub etcd_client: u16,
    /// etcd peers (one member).
    pub etcd_peer: u16,
    /// etcd metrics.
    pub etcd_metrics: u16,
    /// kube-apiserver (HTTPS).
    pub apiserver: u16,
    /// kube-controller-manager's secure port.
    pub controller_manager: u16,
    /// kube-scheduler's secure port.
    pub scheduler: u16,
    /// The kubelet's API.
    pub kubelet: u16,
    /// The kubelet's healthz.
    pub kubelet_healthz: u16,
}

/// The ports of the measured recipe.
pub const PORTS: Ports = Ports {
    etcd_client: 23791,
    etcd_peer: 23801,
    etcd_metrics: 23811,
    apiserver: 26443,
    controller_manager: 26257,
    scheduler: 26259,
    kubelet: 26250,
    kubelet_healthz: 26248,
};

impl Ports {
    /// Every port, named.
    pub fn all(&self) -> [(&'static str, u16); 8] {
        [
            ("etcd client", self.etcd_client),
            ("etcd peer", self.etcd_peer),
            ("etcd metrics", self.etcd_metrics),
            ("kube-apiserver", self.apiserver),
            ("kube-controller-manager", self.controller_manager),
            ("kube-scheduler", self.scheduler),
            ("kubelet", self.kubelet),
            ("kubelet healthz", self.kubelet_healthz),
        ]
    }
}

/// The cluster's files under `target/cluster/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    /// `target/cluster/`.
    pub root: PathBuf,
}

impl Dirs {
    /// The files under `root`.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// Credentials.
    pub fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }

    /// One credential file.
    pub fn pki_file(&self, name: &str) -> PathBuf {
        self.pki().join(name)
    }

    /// Run-time data (etcd data, kubelet root, the kubelet's `/var/log`): removed by `down`.
    pub fn run(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The in-cluster stores' data (`deploy --env local` mounts it as hostPath): removed by
    /// `down`, like the cluster it belonged to.
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Process logs (kept by `down`).
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// One process's log.
    pub fn log(&self, process: &str) -> PathBuf {
        self.logs().join(format!("{process}.log"))
    }

    /// The kubeconfig for kubectl, helm and the components.
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }

    /// The kubelet's configuration file.
    pub fn kubelet_config(&self) -> PathBuf {
        self.root.join("kubelet-config.yaml")
    }

    /// The state file: PIDs and the original sysctl values.
    pub fn state(&self) -> PathBuf {
        self.root.join("state.json")
    }
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

/// The kubeconfig: one cluster on `https://127.0.0.1:<apiserver>` authenticated by `token`.
pub fn kubeconfig(ca: &Path, apiserver_port: u16, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {CONTEXT}\n  cluster:\n    server: https://127.0.0.1:{apiserver_port}\n    certificate-authority: {}\nusers:\n- name: admin\n  user:\n    token: {token}\ncontexts:\n- name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n    user: admin\ncurrent-context: {CONTEXT}\n",
        show(ca)
    )
}

/// The static token file: one admin token in `system:masters`.
pub fn tokens_csv(token: &str) -> String {
    format!("{token},admin,1000,\"system:masters\"\n")
}

/// The kubelet's KubeletConfiguration: loopback only, no authn/authz beyond the CA, no cgroup
/// QoS hierarchy, no iptables chains, image GC and eviction off (the engine is shared: the
/// kubelet must never delete other images), device plugins off.
pub fn kubelet_config(ca: &Path, ports: &Ports) -> String {
    format!(
        "apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: {}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: {}
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
makeIPTablesUtilChains: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{}}
featureGates:
  DevicePlugins: false
",
        ports.kubelet,
        ports.kubelet_healthz,
        show(ca)
    )
}

/// The subject-alternative-name extension of the apiserver's serving certificate.
pub const APISERVER_SAN: &str = "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1\n";

/// The extension of the apiserver's client certificate towards the kubelet.
pub const CLIENT_EXT: &str = "extendedKeyUsage=clientAuth\n";

/// The openssl commands creating the CA, the apiserver's serving pair, its kubelet-client pair
/// (`O=system:masters`, else `kubectl exec/logs` answer Unauthorized) and the service-account key
/// pair, all run in the pki directory (which holds `apiserver.ext` and `client.ext`).
pub fn openssl_cmds(pki: &Path) -> Vec<Cmd> {
    let openssl = |args: &[&str]| Cmd::new("openssl").args(args.iter().copied()).dir(pki);
    let rsa = ["-newkey", "rsa:2048", "-nodes"];
    let signed = |name: &str, subject: &str, ext: &str| {
        [
            openssl(
                &[
                    &["req"][..],
                    &rsa[..],
                    &[
                        "-keyout",
                        &format!("{name}.key"),
                        "-out",
                        &format!("{name}.csr"),
                        "-subj",
                        subject,
                    ],
                ]
                .concat(),
            ),
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "3650",
                "-out",
                &format!("{name}.crt"),
                "-extfile",
                ext,
            ]),
        ]
    };
    let mut cmds = vec![openssl(
        &[
            &["req", "-x509"][..],
            &rsa[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "3650",
                "-subj",
                "/CN=mockvideo-local-ca",
            ],
        ]
        .concat(),
    )];
    cmds.extend(signed("apiserver", "/CN=kube-apiserver", "apiserver.ext"));
    cmds.extend(signed(
        "kubelet-client",
        "/O=system:masters/CN=kube-apiserver-kubelet-client",
        "client.ext",
    ));
    cmds.push(openssl(&["genrsa", "-out", "sa.key", "2048"]));
    cmds.push(openssl(&[
        "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub",
    ]));
    cmds
}

/// The start commands, in start order, each with its process name.
pub fn start_cmds(layout: &Layout, dirs: &Dirs, ports: &Ports) -> Vec<(&'static str, Cmd)> {
    let run = dirs.run();
    let pki = |name: &str| show(&dirs.pki_file(name));
    let kc = show(&dirs.kubeconfig());
    let etcd_client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let etcd_peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    let etcd = Cmd::new(show(&layout.etcd())).args([
        "--name".to_string(),
        "local".into(),
        "--data-dir".into(),
        show(&run.join("etcd")),
        "--listen-client-urls".into(),
        etcd_client.clone(),
        "--advertise-client-urls".into(),
        etcd_client.clone(),
        "--listen-peer-urls".into(),
        etcd_peer.clone(),
        "--initial-advertise-peer-urls".into(),
        etcd_peer.clone(),
        "--initial-cluster".into(),
        format!("local={etcd_peer}"),
        "--listen-metrics-urls".into(),
        format!("http://127.0.0.1:{}", ports.etcd_metrics),
    ]);
    let apiserver = Cmd::new(show(&layout.binary("kube-apiserver"))).args([
        format!("--etcd-servers={etcd_client}"),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", ports.apiserver),
        "--insecure-port=0".into(),
        "--advertise-address=127.0.0.1".into(),
        "--endpoint-reconciler-type=none".into(),
        format!("--cert-dir={}", show(&run.join("apiserver-certs"))),
        format!("--tls-cert-file={}", pki("apiserver.crt")),
        format!("--tls-private-key-file={}", pki("apiserver.key")),
        format!("--client-ca-file={}", pki("ca.crt")),
        format!("--token-auth-file={}", pki("tokens.csv")),
        "--authorization-mode=RBAC".into(),
        "--allow-privileged=true".into(),
        format!("--service-account-key-file={}", pki("sa.pub")),
        format!("--service-account-signing-key-file={}", pki("sa.key")),
        "--service-account-issuer=https://kubernetes.default.svc".into(),
        "--service-cluster-ip-range=10.96.0.0/16".into(),
        "--kubelet-preferred-address-types=Hostname".into(),
        format!("--kubelet-client-certificate={}", pki("kubelet-client.crt")),
        format!("--kubelet-client-key={}", pki("kubelet-client.key")),
    ]);
    let component_auth = [
        format!("--kubeconfig={kc}"),
        format!("--authentication-kubeconfig={kc}"),
        format!("--authorization-kubeconfig={kc}"),
        "--bind-address=127.0.0.1".into(),
        "--port=0".into(),
        "--leader-elect=false".into(),
    ];
    let controller_manager = Cmd::new(show(&layout.binary("kube-controller-manager")))
        .args(component_auth.iter().cloned())
        .args([
            format!("--secure-port={}", ports.controller_manager),
            format!("--cert-dir={}", show(&run.join("kcm-certs"))),
            format!("--service-account-private-key-file={}", pki("sa.key")),
            format!("--root-ca-file={}", pki("ca.crt")),
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-route,-service".into(),
        ]);
    let scheduler = Cmd::new(show(&layout.binary("kube-scheduler")))
        .args(component_auth.iter().cloned())
        .args([
            format!("--secure-port={}", ports.scheduler),
            format!("--cert-dir={}", show(&run.join("sched-certs"))),
        ]);
    vec![
        ("etcd", etcd),
        ("kube-apiserver", apiserver),
        ("kube-controller-manager", controller_manager),
        ("kube-scheduler", scheduler),
        ("kubelet", kubelet_cmd(layout, dirs)),
    ]
}

/// The kubelet, in a private mount namespace where `/var/log` is `run/varlog`, so its hard-coded
/// `/var/log/pods` and `/var/log/containers` never touch the host; `exec` keeps the PID.
pub fn kubelet_cmd(layout: &Layout, dirs: &Dirs) -> Cmd {
    let run = dirs.run();
    let kubelet = [
        show(&layout.binary("kubelet")),
        format!("--config={}", show(&dirs.kubelet_config())),
        format!("--kubeconfig={}", show(&dirs.kubeconfig())),
        format!("--root-dir={}", show(&run.join("kubelet"))),
        format!("--cert-dir={}", show(&run.join("kubelet/pki"))),
        "--container-runtime=docker".into(),
        "--docker-endpoint=unix:///var/run/docker.sock".into(),
        format!(
            "--container-runtime-endpoint=unix://{}",
            show(&run.join("dockershim.sock"))
        ),
        format!(
            "--experimental-dockershim-root-directory={}",
            show(&run.join("dockershim"))
        ),
        format!("--pod-infra-container-image={PAUSE_IMAGE}"),
        "--node-ip=127.0.0.1".into(),
        "--hostname-override=localhost".into(),
        "--oom-score-adj=0".into(),
    ];
    let script = format!(
        "mount --bind {} /var/log && exec {}",
        crate::cmd::quote(&show(&run.join("varlog"))),
        kubelet
            .iter()
            .map(|word| crate::cmd::quote(word))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Cmd::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> (Layout, Dirs) {
        (
            Layout::under(Path::new("/tools")),
            Dirs::new(PathBuf::from("/repo/target/cluster")),
        )
    }

    #[test]
    fn every_process_listens_on_loopback_only() {
        let (layout, dirs) = fixtures();
        let cmds = start_cmds(&layout, &dirs, &PORTS);
        let names: Vec<_> = cmds.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "etcd",
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
                "kubelet"
            ]
        );
        for (name, cmd) in &cmds {
            let line = cmd.line();
            assert!(!line.contains("0.0.0.0"), "{name}: {line}");
            for url in line
                .split(['=', ' ', '\''])
                .filter(|w| w.starts_with("http"))
                // The service-account issuer is a name in tokens, not an address.
                .filter(|w| *w != "https://kubernetes.default.svc")
            {
                assert!(url.contains("//127.0.0.1:"), "{name}: {url}");
            }
        }
        let apiserver = cmds[1].1.line();
        assert!(
            apiserver.contains("--bind-address=127.0.0.1 --secure-port=26443"),
            "{apiserver}"
        );
        assert!(
            apiserver.contains(
                "--kubelet-client-certificate=/repo/target/cluster/pki/kubelet-client.crt"
            ),
            "{apiserver}"
        );
        assert!(cmds[2].1.args.contains(
            &"--controllers=*,-nodeipam,-cloud-node-lifecycle,-route,-service".to_string()
        ));
    }

    #[test]
    fn kubelet_runs_in_a_private_mount_namespace_on_loopback() {
        let (layout, dirs) = fixtures();
        let cmd = kubelet_cmd(&layout, &dirs);
        assert_eq!(cmd.program, "unshare");
        let script = cmd.args.last().unwrap();
        assert!(script.starts_with("mount --bind /repo/target/cluster/run/varlog /var/log && exec /tools/kubernetes-1.20.2/bin/kubelet "), "{script}");
        assert!(script.contains("--node-ip=127.0.0.1"), "{script}");
        assert!(
            script.contains("--pod-infra-container-image=local/k8s-pause:3.4.1"),
            "{script}"
        );
        assert!(script.contains("--oom-score-adj=0"), "{script}");
    }

    #[test]
    fn kubelet_config_keeps_to_loopback_and_never_collects_images() {
        let text = kubelet_config(Path::new("/pki/ca.crt"), &PORTS);
        for expected in [
            "address: 127.0.0.1\n",
            "port: 26250\n",
            "readOnlyPort: 0\n",
            "healthzBindAddress: 127.0.0.1\n",
            "clientCAFile: /pki/ca.crt\n",
            "imageGCHighThresholdPercent: 100\n",
            "evictionHard: {}\n",
            "makeIPTablesUtilChains: false\n",
            "  DevicePlugins: false\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        let parsed: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(parsed["kind"], "KubeletConfiguration");
    }

    #[test]
    fn kubeconfig_points_at_loopback_with_the_token() {
        let text = kubeconfig(Path::new("/pki/ca.crt"), 26443, "t0k");
        let parsed: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            parsed["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:26443"
        );
        assert_eq!(parsed["users"][0]["user"]["token"], "t0k");
        assert_eq!(parsed["current-context"], CONTEXT);
        assert_eq!(tokens_csv("t0k"), "t0k,admin,1000,\"system:masters\"\n");
    }

    #[test]
    fn credentials_are_a_ca_two_signed_pairs_and_a_service_account_key() {
        let cmds = openssl_cmds(Path::new("/pki"));
        let lines: Vec<_> = cmds.iter().map(Cmd::line).collect();
        assert_eq!(lines.len(), 7, "{lines:#?}");
        assert!(lines[0].starts_with("openssl req -x509"), "{}", lines[0]);
        assert!(lines[2].contains("-extfile apiserver.ext"), "{}", lines[2]);
        assert!(
            lines[3].contains("/O=system:masters/CN=kube-apiserver-kubelet-client"),
            "{}",
            lines[3]
        );
        assert_eq!(lines[6], "openssl rsa -in sa.key -pubout -out sa.pub");
        assert!(cmds
            .iter()
            .all(|cmd| cmd.dir == Some(PathBuf::from("/pki"))));
        assert!(APISERVER_SAN.contains("IP:127.0.0.1"));
    }
}
