//! The use cases behind the routes, shared by single and bulk requests: create and update one
//! user. Each is split in two halves, `prepare_*` (validate, hash the password: slow, CPU-bound,
//! run concurrently by bulk requests) and `store_*` (one quick statement: run in request order).

use crate::{
    app::AppState,
    domain::{password, User, UserInput, ValidUser},
    error::UserError,
    metrics,
    repo::NewUser,
};

async fn to_new_user(valid: ValidUser) -> Result<NewUser, UserError> {
    let password_hash = password::hash(valid.password).await.map_err(|error| {
        tracing::error!(%error, "cannot hash a password");
        UserError::Internal
    })?;
    Ok(NewUser {
        account_id: valid.account_id.get(),
        name: valid.name.as_str().to_owned(),
        email: valid.email.as_str().to_owned(),
        role: valid.role.number(),
        password_hash,
    })
}

/// Checks and hashes a user to create (the CPU-heavy half of a create).
pub async fn prepare_create(input: UserInput) -> Result<NewUser, UserError> {
    if input.id() != 0 {
        return Err(UserError::UnexpectedId(input.id()));
    }
    let valid = input.validate().map_err(UserError::Invalid)?;
    to_new_user(valid).await
}

/// Stores a prepared user; returns it with its new id and href.
pub async fn store_create(state: &AppState, new_user: NewUser) -> Result<User, UserError> {
    let id = state.repo.create(&new_user).await?;
    metrics::user_created();
    tracing::info!(user.id = id, "user created");
    Ok(User {
        accountid: new_user.account_id,
        href: User::href_for(id),
        id,
        name: new_user.name,
        email: new_user.email,
        role: new_user.role,
    })
}

/// Creates a user; returns it with its new id and href.
pub async fn create(state: &AppState, input: UserInput) -> Result<User, UserError> {
    let new_user = prepare_create(input).await?;
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

/// Finds the target id, checks and hashes a user to update (the CPU-heavy half).
pub async fn prepare_update(
    url_id: Option<i64>,
    input: UserInput,
) -> Result<(i64, NewUser), UserError> {
    let id = target_id(url_id, input.id())?;
    let valid = input.validate().map_err(UserError::Invalid)?;
    Ok((id, to_new_user(valid).await?))
}

/// Stores a prepared update of user `id`.
pub async fn store_update(state: &AppState, id: i64, new_user: NewUser) -> Result<i64, UserError> {
    state.repo.update(id, &new_user).await?;
    tracing::info!(user.id = id, "user updated");
    Ok(id)
}

/// Replaces every field of the user `url_id` or the body names.
pub async fn update(
    state: &AppState,
    url_id: Option<i64>,
    input: UserInput,
) -> Result<i64, UserError> {
    let (id, new_user) = prepare_update(url_id, input).await?;
    store_update(state, id, new_user).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
