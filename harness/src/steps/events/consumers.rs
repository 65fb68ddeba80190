//! What the consumers did: the processed record and the dead-letter stream, read once the
//! consumer group has settled.

use std::collections::BTreeSet;

use cucumber::then;
use events::consumer::record::dead_letter_key;

use super::reads::{entries, field, notifications, processed, wait_until_settled};
use crate::steps::world::MockVideoWorld;

#[then(expr = "the event {string} is processed exactly once")]
async fn processed_once(world: &mut MockVideoWorld, description: String) {
    let description = world.events.labelled(&description);
    wait_until_settled(&world.events).await;
    let records = processed(&world.events).await;
    let matching = records
        .iter()
        .filter(|r| r.description == description)
        .count();
    assert_eq!(matching, 1, "records of {description:?}: {records:?}");
}

#[then(expr = "the processed record holds {int} record(s)")]
async fn record_count(world: &mut MockVideoWorld, count: usize) {
    wait_until_settled(&world.events).await;
    let records = processed(&world.events).await;
    assert_eq!(records.len(), count, "{records:?}");
}

#[then(expr = "consumer {string} processed {string} from the stream entry holding it")]
async fn processed_by(world: &mut MockVideoWorld, consumer: String, description: String) {
    wait_until_settled(&world.events).await;
    let records = processed(&world.events).await;
    let record = records
        .iter()
        .find(|r| r.description == description)
        .unwrap_or_else(|| panic!("{description:?} not processed: {records:?}"));
    assert_eq!(record.consumer, consumer, "{record:?}");
    let all = notifications(&world.events).await;
    let (entry_id, nm) = all
        .iter()
        .find(|(_, nm)| nm["description"] == description.as_str())
        .unwrap_or_else(|| panic!("{description:?} is not in the stream"));
    assert_eq!(&record.entry_id, entry_id, "{record:?}");
    assert_eq!(nm["id"].as_u64(), Some(record.id), "{record:?} vs {nm}");
}

#[then("the dead-letter stream holds that entry with its fields and a reason")]
async fn dead_lettered(world: &mut MockVideoWorld) {
    wait_until_settled(&world.events).await;
    let source = world
        .events
        .added_entry
        .clone()
        .expect("an entry was added");
    let key = dead_letter_key(&world.events.stream);
    let all = entries(&world.events, &key).await;
    let entry = all
        .iter()
        .find(|entry| field(entry, "source_id").as_deref() == Some(source.as_str()))
        .unwrap_or_else(|| panic!("no dead letter for {source} in {key}: {all:?}"));
    assert!(
        field(entry, "reason").is_some_and(|reason| !reason.is_empty()),
        "no reason in {:?}",
        entry.map
    );
    let original: BTreeSet<String> = entries(&world.events, &world.events.stream)
        .await
        .into_iter()
        .find(|e| e.id == source)
        .map(|e| e.map.into_keys().collect())
        .unwrap_or_default();
    for name in original {
        assert!(
            entry.map.contains_key(&name),
            "field {name} not kept: {:?}",
            entry.map
        );
    }
}

#[then("the dead-letter stream is empty")]
async fn no_dead_letters(world: &mut MockVideoWorld) {
    wait_until_settled(&world.events).await;
    let key = dead_letter_key(&world.events.stream);
    let all = entries(&world.events, &key).await;
    assert!(all.is_empty(), "dead letters: {all:?}");
}
