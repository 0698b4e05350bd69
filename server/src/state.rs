//! The server's state, shared by every handler, page and job: the store, the settings,
//! the token keys, the clock, the metrics and the photo store.

use std::sync::{Arc, RwLock};

use crate::auth::tokens::Keys;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::photos::{self, Photos};
use crate::settings::Settings;
use crate::store::{Store, people};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub keys: Arc<RwLock<Keys>>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub photos: Photos,
    /// Names this instance as a holder of job leases (`jobs`). New on every start.
    pub instance_id: String,
    /// The one watcher of the change feed's head that every open live page of this
    /// instance listens to (`web::live`).
    pub live: Arc<crate::web::live::FeedWatch>,
    /// Orders the log and the feed (`jobs::Sequencer`).
    pub sequencer: Arc<crate::jobs::Sequencer>,
    /// Where checkpoints are submitted for cosigning, and how many cosignatures make a
    /// checkpoint witnessed (`PATROL_WITNESSES`, `PATROL_WITNESS_QUORUM`).
    pub witnesses: Arc<Vec<crate::audit::witnessed::WitnessEndpoint>>,
    pub witness_policy: Arc<crate::audit::cosign::Policy>,
}

impl AppState {
    /// Migrates, makes sure a signing key exists, and loads the keys.
    pub fn new(store: Store, settings: Settings, clock: Arc<dyn Clock>) -> Result<AppState, String> {
        store.migrate_blocking().map_err(|e| format!("migration failed: {e}"))?;
        let now = clock.now_ms();
        let key_file = settings.effective_log_key_file();
        let stored = store
            .tx_blocking(true, |c| {
                crate::audit::log::ensure_key(c, &key_file, now)?;
                if people::signing_keys(c)?.is_empty() {
                    people::insert_signing_key(
                        c,
                        &uuid::Uuid::now_v7().simple().to_string(),
                        &Keys::new_seed_hex(),
                        now,
                    )?;
                }
                people::signing_keys(c)
            })
            .map_err(|e| format!("cannot load signing keys: {e}"))?;
        let keys = Keys::from_stored(&stored)?;
        let photos = photos::open_store(&settings)?;
        let (witnesses, witness_policy) = settings.witness_policy()?;
        Ok(AppState {
            witnesses: Arc::new(witnesses),
            witness_policy: Arc::new(witness_policy),
            photos,
            store,
            settings: Arc::new(settings),
            keys: Arc::new(RwLock::new(keys)),
            clock,
            metrics: Arc::new(Metrics::default()),
            instance_id: uuid::Uuid::now_v7().to_string(),
            live: Arc::new(crate::web::live::FeedWatch::default()),
            sequencer: Arc::default(),
        })
    }

    /// Integrates whatever is pending before a read that must see every committed
    /// record's leaf and feed entry (a pull, a proof, a printed code).
    pub async fn caught_up(&self) -> Result<(), ApiError> {
        self.sequencer.start(self);
        patrol_cases::sequencer::catch_up(&self.store, self.clock.now_ms()).await?;
        Ok(())
    }

    pub async fn reload_keys(&self) -> Result<(), ApiError> {
        let stored = self.store.read(people::signing_keys).await?;
        let keys = Keys::from_stored(&stored).map_err(ApiError::Internal)?;
        *self.keys.write().expect("keys lock") = keys;
        Ok(())
    }
}
