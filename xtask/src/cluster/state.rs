//! What `cluster up` leaves for `cluster down` in `target/cluster/state.json`: every process it
//! started (name, PID, log) and the original value of every kernel setting the kubelet may
//! change, so `down` can stop exactly those processes and put the settings back, even after a
//! crash of `up` itself. Also the checks on `/proc` that tell whether a recorded PID is still
//! the process it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The non-namespaced sysctls the v1.20 kubelet sets at start-up (`setupKernelTunables`) or
/// through its no-op network plugin (`bridge-nf-call-iptables`).
pub const KUBELET_SYSCTLS: [&str; 7] = [
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.bridge.bridge-nf-call-iptables",
];

/// One started process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Its name (`etcd`, `kube-apiserver`, …), which its command line contains.
    pub name: String,
    /// Its PID.
    pub pid: u32,
    /// Where its output goes.
    pub log: PathBuf,
}

/// The state file's content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Processes in start order.
    pub processes: Vec<Process>,
    /// Original sysctl values (only those that exist on this kernel), read before the kubelet ran.
    pub sysctls: BTreeMap<String, String>,
    /// The kubeconfig.
    pub kubeconfig: PathBuf,
}

impl State {
    /// Reads the state file; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))
                .map(Some),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the state file (atomically: a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let text = serde_json::to_string_pretty(self).context("serialising the cluster state")?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text)
            .with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
    }
}

/// The `/proc/sys` file of a sysctl key.
pub fn sysctl_path(key: &str) -> PathBuf {
    Path::new("/proc/sys").join(key.replace('.', "/"))
}

/// The current values of `keys` that exist on this kernel.
pub fn read_sysctls(keys: &[&str]) -> BTreeMap<String, String> {
    keys.iter()
        .filter_map(|key| {
            std::fs::read_to_string(sysctl_path(key))
                .ok()
                .map(|value| (key.to_string(), normalise(&value)))
        })
        .collect()
}

/// A sysctl value with its whitespace (tabs between numbers, the newline) made single spaces.
fn normalise(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One sysctl to put back: key, current value, original value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The key.
    pub key: String,
    /// Its value now.
    pub now: String,
    /// Its value before the kubelet ran.
    pub original: String,
}

/// The sysctls whose current value differs from the original one.
pub fn sysctl_changes(
    original: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> Vec<Change> {
    original
        .iter()
        .filter_map(|(key, was)| {
            let now = current.get(key)?;
            (normalise(now) != normalise(was)).then(|| Change {
                key: key.clone(),
                now: now.clone(),
                original: was.clone(),
            })
        })
        .collect()
}

/// Whether `pid` is alive (not a zombie) and its command line names `name`; a PID reused by
/// another program counts as gone. Just after a spawn the command line may still be the
/// parent's, so a live process that does not match yet gets a second look a moment later.
pub fn alive(pid: u32, name: &str) -> bool {
    let named = || {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&cmdline).contains(name)
    };
    if !running(pid) {
        return false;
    }
    if named() {
        return true;
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    running(pid) && named()
}

/// Whether `pid` exists and is not a zombie.
pub fn running(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    is_live_stat(&stat)
}

/// Whether a `/proc/PID/stat` line belongs to a live process (present, state not Z or X).
pub fn is_live_stat(stat: &str) -> bool {
    // The state letter follows the parenthesised command name, which may hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster/state.json");
        assert_eq!(State::load(&path).unwrap(), None);
        let state = State {
            processes: vec![Process {
                name: "etcd".into(),
                pid: 42,
                log: PathBuf::from("/t/etcd.log"),
            }],
            sysctls: BTreeMap::from([("kernel.panic".to_string(), "1".to_string())]),
            kubeconfig: PathBuf::from("/t/kubeconfig"),
        };
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), Some(state));
        std::fs::write(&path, "not json").unwrap();
        assert!(State::load(&path).is_err());
    }

    #[test]
    fn only_changed_sysctls_are_restored() {
        let original = BTreeMap::from([
            ("kernel.panic".to_string(), "1".to_string()),
            ("vm.overcommit_memory".to_string(), "0".to_string()),
            (
                "kernel.keys.root_maxkeys".to_string(),
                "1000000".to_string(),
            ),
            ("gone.key".to_string(), "3".to_string()),
        ]);
        let current = BTreeMap::from([
            ("kernel.panic".to_string(), "10".to_string()),
            ("vm.overcommit_memory".to_string(), "1".to_string()),
            (
                "kernel.keys.root_maxkeys".to_string(),
                "1000000".to_string(),
            ),
        ]);
        let changes = sysctl_changes(&original, &current);
        assert_eq!(
            changes,
            vec![
                Change {
                    key: "kernel.panic".into(),
                    now: "10".into(),
                    original: "1".into()
                },
                Change {
                    key: "vm.overcommit_memory".into(),
                    now: "1".into(),
                    original: "0".into()
                },
            ]
        );
        assert!(sysctl_changes(&original, &original).is_empty());
    }

    #[test]
    fn sysctl_keys_map_to_proc_sys_and_values_are_normalised() {
        assert_eq!(
            sysctl_path("net.bridge.bridge-nf-call-iptables"),
            PathBuf::from("/proc/sys/net/bridge/bridge-nf-call-iptables")
        );
        assert_eq!(normalise("4096\t87380\n"), "4096 87380");
        let here = read_sysctls(&["kernel.panic", "no.such.key"]);
        assert!(here.contains_key("kernel.panic"));
        assert!(!here.contains_key("no.such.key"));
    }

    #[test]
    fn zombies_and_missing_processes_are_not_alive() {
        assert!(is_live_stat("123 (kube apiserver) S 1 2 3"));
        assert!(!is_live_stat("123 (etcd) Z 1 2 3"));
        assert!(!is_live_stat(""));
        assert!(alive(std::process::id(), "xtask"));
        assert!(!alive(std::process::id(), "definitely-not-this-name"));
        assert!(!alive(u32::MAX - 1, "etcd"));
    }
}
