//! [`MemoryStore`]: keys in a map in memory, at most `capacity` of them (expired ones are
//! dropped first; beyond that a new key is refused, 503). For router tests and single-process
//! tools; a service keeps its keys where its data is.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use futures::future::BoxFuture;

use super::{Answer, Begun, Fingerprint, Key, Lease, Policy, Store, StoreError};

/// One key's state.
#[derive(Debug, Clone)]
struct Entry {
    fingerprint: Fingerprint,
    token: u64,
    answer: Option<Answer>,
    lease_until: Instant,
    expires_at: Instant,
}

/// Keys in memory.
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl MemoryStore {
    /// A store of at most `capacity` keys.
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn claim(
        &self,
        key: &Key,
        fingerprint: Fingerprint,
        policy: &Policy,
    ) -> Result<Begun, StoreError> {
        let now = Instant::now();
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| StoreError("the key map is poisoned".to_owned()))?;
        if let Some(entry) = entries.get(key).filter(|entry| entry.expires_at > now) {
            if entry.fingerprint != fingerprint {
                return Ok(Begun::Mismatch);
            }
            if let Some(answer) = &entry.answer {
                return Ok(Begun::Replay(answer.clone()));
            }
            if entry.lease_until > now {
                return Ok(Begun::InFlight);
            }
        }
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            entries.retain(|_, entry| entry.expires_at > now);
            if entries.len() >= self.capacity {
                return Err(StoreError(format!(
                    "{} keys are kept already (the most this store keeps)",
                    self.capacity
                )));
            }
        }
        let lease = Lease::new(key.clone());
        entries.insert(
            key.clone(),
            Entry {
                fingerprint,
                token: lease.token,
                answer: None,
                lease_until: now + policy.lease,
                expires_at: now + policy.ttl.max(Duration::from_millis(1)),
            },
        );
        Ok(Begun::Fresh(lease))
    }
}

impl Store for MemoryStore {
    fn begin<'a>(
        &'a self,
        key: &'a Key,
        fingerprint: Fingerprint,
        policy: &'a Policy,
    ) -> BoxFuture<'a, Result<Begun, StoreError>> {
        Box::pin(async move { self.claim(key, fingerprint, policy) })
    }

    fn finish<'a>(
        &'a self,
        lease: &'a Lease,
        answer: &'a Answer,
        _policy: &'a Policy,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut entries = self
                .entries
                .lock()
                .map_err(|_| StoreError("the key map is poisoned".to_owned()))?;
            if let Some(entry) = entries
                .get_mut(&lease.key)
                .filter(|entry| entry.token == lease.token)
            {
                entry.answer = Some(answer.clone());
            }
            Ok(())
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut entries = self
                .entries
                .lock()
                .map_err(|_| StoreError("the key map is poisoned".to_owned()))?;
            if entries
                .get(&lease.key)
                .is_some_and(|entry| entry.token == lease.token && entry.answer.is_none())
            {
                entries.remove(&lease.key);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, Uri};

    use super::*;

    fn key(text: &str) -> Key {
        Key(text.to_owned())
    }

    fn print(body: &[u8]) -> Fingerprint {
        Fingerprint::of(&Method::POST, &Uri::from_static("/x"), body)
    }

    #[tokio::test]
    async fn a_running_key_is_in_flight_until_its_lease_ends() {
        let store = MemoryStore::new(10);
        let policy = Policy {
            lease: Duration::from_millis(30),
            ..Policy::default()
        };
        let Begun::Fresh(first) = store.begin(&key("a"), print(b"1"), &policy).await.unwrap()
        else {
            panic!("a new key is fresh")
        };
        assert_eq!(
            store.begin(&key("a"), print(b"1"), &policy).await.unwrap(),
            Begun::InFlight
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
        // The holder died: the retry takes the key over, and the old holder cannot finish.
        let Begun::Fresh(second) = store.begin(&key("a"), print(b"1"), &policy).await.unwrap()
        else {
            panic!("an abandoned key is taken over")
        };
        let answer = Answer {
            status: 201,
            headers: Vec::new(),
            body: b"old".to_vec(),
        };
        store.finish(&first, &answer, &policy).await.unwrap();
        assert_eq!(
            store.begin(&key("a"), print(b"1"), &policy).await.unwrap(),
            Begun::InFlight
        );
        store.release(&second).await.unwrap();
        assert!(matches!(
            store.begin(&key("a"), print(b"1"), &policy).await.unwrap(),
            Begun::Fresh(_)
        ));
    }

    #[tokio::test]
    async fn a_full_store_refuses_new_keys_but_drops_expired_ones() {
        let store = MemoryStore::new(1);
        let short = Policy {
            ttl: Duration::from_millis(20),
            ..Policy::default()
        };
        store.begin(&key("a"), print(b"1"), &short).await.unwrap();
        assert!(store.begin(&key("b"), print(b"1"), &short).await.is_err());
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(matches!(
            store.begin(&key("b"), print(b"1"), &short).await.unwrap(),
            Begun::Fresh(_)
        ));
    }
}
