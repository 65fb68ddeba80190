//! Everything the harness started that must not outlive the process: containers and server
//! processes. Each lives in a process-wide registry until its owner releases it (`stop`/`Drop`);
//! whatever is still registered when the process exits normally is released by an `atexit`
//! hook, which covers owners kept in statics (never dropped). A SIGKILL'ed run skips both; the
//! next run's sweep ([`super::docker::sweep_stale`], [`super::scratch::sweep_stale`]) removes it.

use std::{
    collections::BTreeMap,
    io::Write as _,
    path::PathBuf,
    process::Child,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, Once, PoisonError, TryLockError,
    },
};

use super::{docker, scratch};

/// Something to remove when its owner is done.
#[derive(Debug)]
pub enum Resource {
    /// A container, by id; `name` is for messages.
    Container { id: String, name: String },
    /// A local server process and the scratch directory it runs in.
    Process {
        child: Child,
        dir: PathBuf,
        name: String,
    },
}

impl Resource {
    /// Removes the container or kills the process and deletes its directory. Blocking.
    fn release_blocking(self) -> anyhow::Result<()> {
        match self {
            Resource::Container { id, .. } => docker::remove_container_blocking(&id),
            Resource::Process { mut child, dir, .. } => {
                // A throwaway server: SIGKILL is fine and does not wait for a clean shutdown.
                let _ = child.kill();
                let _ = child.wait();
                scratch::remove_dir(&dir).map_err(|error| {
                    anyhow::anyhow!("removing scratch dir {}: {error}", dir.display())
                })
            }
        }
    }

    fn name(&self) -> &str {
        match self {
            Resource::Container { name, .. } | Resource::Process { name, .. } => name,
        }
    }
}

static REGISTRY: Mutex<BTreeMap<u64, Resource>> = Mutex::new(BTreeMap::new());
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
static AT_EXIT: Once = Once::new();

/// Ownership of one registered [`Resource`]: dropping it releases the resource (blocking).
#[derive(Debug)]
pub struct Guard {
    key: u64,
}

impl Guard {
    /// Registers `resource` for release on drop or at process exit.
    pub fn register(resource: Resource) -> Guard {
        AT_EXIT.call_once(install_at_exit_hook);
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        REGISTRY
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, resource);
        Guard { key }
    }

    fn take(&self) -> Option<Resource> {
        REGISTRY
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key)
    }

    /// Releases the resource now, without blocking the async runtime.
    pub async fn release(self) -> anyhow::Result<()> {
        match self.take() {
            None => Ok(()),
            Some(Resource::Container { id, .. }) => docker::remove_container(&id).await,
            Some(process) => tokio::task::spawn_blocking(move || process.release_blocking())
                .await
                .map_err(|error| anyhow::anyhow!("clean-up task failed: {error}"))?,
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(resource) = self.take() {
            let name = resource.name().to_owned();
            if let Err(error) = resource.release_blocking() {
                eprintln!("[harness] cleaning up {name} failed: {error:#}");
            }
        }
    }
}

/// Releases everything still registered. Runs from `atexit`, so it must neither panic nor block
/// on a lock another thread might hold.
extern "C" fn release_all_at_exit() {
    let remaining = match REGISTRY.try_lock() {
        Ok(mut registry) => std::mem::take(&mut *registry),
        Err(TryLockError::Poisoned(poisoned)) => std::mem::take(&mut *poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => return,
    };
    for resource in remaining.into_values() {
        let name = resource.name().to_owned();
        let outcome = resource.release_blocking();
        let mut stderr = std::io::stderr();
        let _ = match outcome {
            Ok(()) => writeln!(stderr, "[harness] removed {name} at process exit"),
            Err(error) => writeln!(
                stderr,
                "[harness] removing {name} at process exit failed: {error:#}"
            ),
        };
    }
}

/// Registers [`release_all_at_exit`] with the C library's `atexit`, which Rust's `std` has no
/// safe wrapper for. Sound: the hook is a plain `extern "C" fn()` that lives for the whole
/// program, and `atexit` only stores the pointer.
#[allow(unsafe_code)] // libc::atexit is the only way to run clean-up for owners held in statics.
fn install_at_exit_hook() {
    // SAFETY: registering a non-unwinding `extern "C" fn()` with a 'static lifetime.
    let status = unsafe { libc::atexit(release_all_at_exit) };
    if status != 0 {
        eprintln!("[harness] could not register the process-exit clean-up hook");
    }
}
