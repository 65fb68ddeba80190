//! The use cases behind the routes, shared by single and bulk requests: create and update one
//! user. Each is split in two halves, `prepare_*` (validate, check the user exists, then hash the
//! password: slow, CPU-bound, bounded by the process's [`password::Hasher`], run concurrently by
//! bulk requests) and the store half: `store_*` for a single request (one quick statement),
//! [`store_batch`] for every prepared user of a bulk request at once (one transaction). Nothing
//! is hashed for a request that is refused anyway.

use std::time::Instant;

use crate::{
    app::AppState,
    domain::{password, User, UserInput, ValidUser},
    error::UserError,
    metrics,
    repo::{BatchOp, NewUser},
};

async fn to_new_user(
    state: &AppState,
    valid: ValidUser,
    patience: password::Patience,
) -> Result<NewUser, UserError> {
    let password_hash = state
        .hasher
        .hash(valid.password, patience)
        .await
        .map_err(|error| match error {
            password::HashError::Busy => UserError::Overloaded,
            password::HashError::Failed(reason) => {
                tracing::error!(error = %reason, "cannot hash a password");
                UserError::Internal
            }
        })?;
    Ok(NewUser {
        account_id: valid.account_id.get(),
        name: valid.name.as_str().to_owned(),
        email: valid.email.as_str().to_owned(),
        role: valid.role.number(),
        password_hash,
    })
}

/// Checks and hashes a user to create (the CPU-heavy half of a create), waiting for a hashing
/// thread as `patience` allows.
pub async fn prepare_create(
    state: &AppState,
    input: UserInput,
    patience: password::Patience,
) -> Result<NewUser, UserError> {
    if input.id() != 0 {
        return Err(UserError::UnexpectedId(input.id()));
    }
    let valid = input.validate().map_err(UserError::Invalid)?;
    to_new_user(state, valid, patience).await
}

/// The user `new_user` became once stored with `id`: its href, the stored values.
pub fn created_user(new_user: &NewUser, id: i64) -> User {
    User {
        accountid: new_user.account_id,
        href: User::href_for(id),
        id,
        name: new_user.name.clone(),
        email: new_user.email.clone(),
        role: new_user.role,
    }
}

/// Stores a prepared user; returns it with its new id and href.
pub async fn store_create(state: &AppState, new_user: NewUser) -> Result<User, UserError> {
    let id = state.repo.create(&new_user).await?;
    metrics::user_created();
    tracing::info!(user.id = id, "user created");
    Ok(created_user(&new_user, id))
}

/// Creates a user; returns it with its new id and href.
pub async fn create(state: &AppState, input: UserInput) -> Result<User, UserError> {
    let new_user = prepare_create(state, input, password::Patience::OneHash).await?;
    store_create(state, new_user).await
}

/// The user an update targets: the URL id when there is one (a different, non-zero body id is
/// an error), else the body id.
pub fn target_id(url_id: Option<i64>, body_id: i64) -> Result<i64, UserError> {
    match (url_id, body_id) {
        (Some(url), 0) => Ok(url),
        (Some(url), body) if body == url => Ok(url),
        (Some(url), body) => Err(UserError::IdMismatch { url, body }),
        (None, 0) => Err(UserError::MissingId),
        (None, body) => Ok(body),
    }
}

/// Finds the target id, checks the user and that it exists, then hashes (the CPU-heavy half),
/// waiting for a hashing thread as `patience` allows.
pub async fn prepare_update(
    state: &AppState,
    url_id: Option<i64>,
    input: UserInput,
    patience: password::Patience,
) -> Result<(i64, NewUser), UserError> {
    let id = target_id(url_id, input.id())?;
    let valid = input.validate().map_err(UserError::Invalid)?;
    if state.repo.get(id).await?.is_none() {
        return Err(UserError::NotFound);
    }
    Ok((id, to_new_user(state, valid, patience).await?))
}

/// Stores a prepared update of user `id`.
pub async fn store_update(state: &AppState, id: i64, new_user: NewUser) -> Result<i64, UserError> {
    state.repo.update(id, &new_user).await?;
    tracing::info!(user.id = id, "user updated");
    Ok(id)
}

/// Stores the prepared writes of a bulk request in one transaction that must be committed
/// before `deadline` (see [`crate::repo::UserRepo::apply_batch`]). Returns, per write and in
/// order, the user's id or why that write alone was skipped; or, when the batch as a whole
/// failed, the error, and then nothing of it is stored.
pub async fn store_batch(
    state: &AppState,
    batch: &[BatchOp],
    deadline: Instant,
) -> Result<Vec<Result<i64, UserError>>, UserError> {
    let outcomes = state.repo.apply_batch(batch.to_vec(), deadline).await?;
    if outcomes.len() != batch.len() {
        tracing::error!(
            writes = batch.len(),
            outcomes = outcomes.len(),
            "the store answered a batch with the wrong number of outcomes"
        );
        return Err(UserError::Internal);
    }
    for (op, outcome) in batch.iter().zip(&outcomes) {
        match (op, outcome) {
            (BatchOp::Create(_), Ok(id)) => {
                metrics::user_created();
                tracing::info!(user.id = id, "user created");
            }
            (BatchOp::Update(..), Ok(id)) => tracing::info!(user.id = id, "user updated"),
            (_, Err(_)) => {}
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.map_err(UserError::from))
        .collect())
}

/// Replaces every field of the user `url_id` or the body names.
pub async fn update(
    state: &AppState,
    url_id: Option<i64>,
    input: UserInput,
) -> Result<i64, UserError> {
    let (id, new_user) = prepare_update(state, url_id, input, password::Patience::OneHash).await?;
    store_update(state, id, new_user).await
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::domain::password::{HashLimits, Hasher};

    fn brian() -> UserInput {
        UserInput {
            accountid: Some(1),
            name: Some("Brian Wilson".to_owned()),
            email: Some("goodvibrations@gmail.com".to_owned()),
            role: Some(1),
            password: Some(SecretString::from("helpmerhonda")),
            ..UserInput::default()
        }
    }

    /// A state whose hasher has one slot, taken, and no queue: every hash is refused at once.
    fn saturated() -> (AppState, Vec<std::sync::mpsc::Sender<()>>) {
        let mut state = AppState::in_memory();
        state.hasher = Hasher::new(&HashLimits {
            concurrent: 1,
            queue: 0,
            wait_ms: 0,
        });
        let held = state.hasher.occupy();
        (state, held)
    }

    #[tokio::test]
    async fn a_create_refused_for_overload_stores_nothing() {
        let (state, _held) = saturated();
        let error = create(&state, brian()).await.unwrap_err();
        assert!(matches!(error, UserError::Overloaded), "{error:?}");
        let api = error.into_api_error(2);
        assert_eq!(api.status().as_u16(), 429);
        assert_eq!(api.code(), "overloaded");
        assert!(state.repo.list().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_update_of_an_unknown_user_is_404_before_any_hashing() {
        let (state, _held) = saturated();
        let error = update(&state, Some(999), brian()).await.unwrap_err();
        assert!(matches!(error, UserError::NotFound), "{error:?}");
    }

    #[tokio::test]
    async fn an_invalid_user_is_400_before_any_hashing() {
        let (state, _held) = saturated();
        let input = UserInput {
            email: Some("not an address".to_owned()),
            ..brian()
        };
        let error = create(&state, input).await.unwrap_err();
        assert!(matches!(error, UserError::Invalid(_)), "{error:?}");
    }

    #[test]
    fn url_id_wins_and_must_agree_with_the_body() {
        assert_eq!(target_id(Some(6), 0).ok(), Some(6));
        assert_eq!(target_id(Some(6), 6).ok(), Some(6));
        assert!(matches!(
            target_id(Some(6), 7),
            Err(UserError::IdMismatch { url: 6, body: 7 })
        ));
        assert_eq!(target_id(None, 7).ok(), Some(7));
        assert!(matches!(target_id(None, 0), Err(UserError::MissingId)));
    }
}
