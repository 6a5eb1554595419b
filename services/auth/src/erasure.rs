//! Honouring `user.erased` (published by user when an account erases itself): the account, its
//! credentials and its refresh tokens are deleted, so it can neither sign in nor refresh. Handled
//! once per event (`processed_events`); an account already gone is fine.

use events::Event as _;
use events::user::UserErased;
use kit::kafka::HandleError;
use sqlx::PgPool;

/// Handles one event of `user.v1`; only `user.erased` concerns auth.
pub async fn handle(db: &PgPool, envelope: events::RawEnvelope) -> Result<(), HandleError> {
    if envelope.event_type != UserErased::TYPE {
        return Ok(());
    }
    let event = envelope
        .decode::<UserErased>()
        .map_err(|e| HandleError::Poison(anyhow::Error::new(e)))?;
    let user = event.payload.user_id;
    kit::kafka::once(db, crate::platform::MANIFEST.name, event.id, |tx| {
        Box::pin(async move {
            // Refresh tokens go with it (ON DELETE CASCADE).
            let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(user)
                .execute(tx)
                .await?;
            tracing::info!(%user, deleted = deleted.rows_affected(), "account erased");
            Ok(())
        })
    })
    .await
}
