//! The introspecting verifier: a cache hit answered without awaiting, a miss asked at the
//! endpoint (one call per token in the air), the answer checked and cached.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::Routing;
use super::cache::{AnswerCache, Boarding, Digest32, Outcome, arrival};
use super::client::Client;
use super::response::{self, Verdict};
use super::signed::SignedAnswers;
use crate::clock::SharedClock;
use crate::error::{AuthError, AuthReason};
use crate::policy::Policy;
use crate::user::User;

/// Shortest interval between two logs of refusals by `max_in_flight`.
const SATURATION_LOG_INTERVAL_MS: i64 = 10_000;

/// Everything needed to introspect one verifier's opaque tokens.
pub(crate) struct Introspector {
    pub(crate) routing: Routing,
    pub(crate) client: Client,
    pub(crate) cache: Arc<AnswerCache>,
    /// The verifier's policy: introspected claims are checked as a JWT's are.
    pub(crate) policy: Policy,
    pub(crate) clock: SharedClock,
    /// Told to clients when the endpoint gave no answer.
    pub(crate) retry_after: Duration,
    /// Permits for calls in the air: a flood of distinct made-up tokens is refused (503)
    /// instead of becoming as many calls to the authorization server.
    pub(crate) in_flight: Arc<Semaphore>,
    /// When (verifier clock, ms) a refusal by the bound was last logged; `i64::MIN`: never.
    pub(crate) saturation_logged: AtomicI64,
    /// The bound on `in_flight`, for the log.
    pub(crate) in_flight_bound: usize,
    /// The verifier has no key source: its (empty) key cache is never used.
    pub(crate) keyless: bool,
    /// Set when answers must be signed (RFC 9701).
    pub(crate) signed: Option<SignedAnswers>,
}

/// What the synchronous attempt learnt about a token the endpoint must be asked about.
#[derive(Debug)]
pub(crate) struct Pending {
    key: Digest32,
}

impl Introspector {
    /// Whether `token` goes to the endpoint rather than to local JWT verification.
    pub(crate) fn applies(&self, token: &str) -> bool {
        self.routing == Routing::AllTokens || !super::is_jws_compact(token)
    }

    /// Decides from the cache when it can; otherwise what [`verify_pending`] needs.
    ///
    /// [`verify_pending`]: Self::verify_pending
    pub(crate) fn verify_now(&self, token: &str) -> Result<Result<User, AuthError>, Pending> {
        if token.len() > self.policy.max_token_len {
            return Ok(Err(AuthError::new(AuthReason::TokenTooLarge)));
        }
        let key = AnswerCache::key(token);
        let now = self.clock.now();
        match self.cache.get(&key, now) {
            Some(verdict) => Ok(verdict.result(&self.policy, now)),
            None => Err(Pending { key }),
        }
    }

    /// Asks the endpoint (or waits for the call in the air for the same token).
    pub(crate) async fn verify_pending(
        self: &Arc<Self>,
        token: &str,
        pending: Pending,
    ) -> Result<User, AuthError> {
        let key = pending.key;
        let receiver = match self.cache.board(key) {
            Boarding::Joined(receiver) => receiver,
            Boarding::Started(receiver, departure) => {
                // A call that landed between the cache miss and boarding left its answer.
                if let Some(verdict) = self.cache.get(&key, self.clock.now()) {
                    departure.land(Ok(verdict));
                } else if let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() {
                    // Its own task: a request that goes away does not cancel the call the
                    // others wait for. The call is bounded by the HTTP timeout and retries.
                    let this = Arc::clone(self);
                    let token = token.to_owned();
                    tokio::spawn(async move {
                        let outcome = this.call(&token, key).await;
                        drop(permit);
                        departure.land(outcome);
                    });
                } else {
                    // Too many calls in the air: no call, and those who joined this flight
                    // in the meantime get the same 503.
                    self.saturated();
                    departure.land(Err(()));
                }
                receiver
            }
        };
        match arrival(receiver).await {
            Ok(verdict) => verdict.result(&self.policy, self.clock.now()),
            Err(()) => Err(AuthError::introspection_unavailable(self.retry_after)),
        }
    }

    /// Counts and logs (at most every [`SATURATION_LOG_INTERVAL_MS`], not per request of a
    /// flood) a call refused because `max_in_flight` calls are in the air.
    fn saturated(&self) {
        crate::metrics::introspection("saturated");
        let now = self.clock.now().as_millis();
        let last = self.saturation_logged.load(Ordering::Relaxed);
        let due = last == i64::MIN || now.saturating_sub(last) >= SATURATION_LOG_INTERVAL_MS;
        if due
            && self
                .saturation_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                max_in_flight = self.in_flight_bound,
                "jwks-auth: too many token introspection calls in the air; answering 503 to \
                 requests with new tokens until one lands (logged at most every 10 s)"
            );
        }
    }

    /// One call to the endpoint; a verdict is cached, a failure logged for the operator.
    async fn call(&self, token: &str, key: Digest32) -> Outcome {
        let answer = match (self.client.introspect(token).await, &self.signed) {
            (Ok(body), None) => response::parse(&body),
            (Ok(body), Some(signed)) => match signed.open(&body).await {
                Ok(claims) => response::answer(claims),
                Err(e) => Err(e),
            },
            (Err(e), _) => Err(e),
        };
        match answer {
            Ok(answer) => {
                let now = self.clock.now();
                let verdict = Arc::new(response::check(&self.policy, answer, now));
                self.cache.insert(key, Arc::clone(&verdict), now);
                crate::metrics::introspection(match &*verdict {
                    Verdict::Active { .. } => "active",
                    Verdict::Refused(AuthReason::InactiveToken) => "inactive",
                    Verdict::Refused(_) => "refused",
                });
                Ok(verdict)
            }
            Err(error) => {
                crate::metrics::introspection("error");
                // Transient failures (outage, timeout, 5xx) warn; the others (credentials
                // refused, malformed answers, no endpoint) need the operator: error.
                if error.is_retryable() {
                    tracing::warn!(%error, "jwks-auth: token introspection unavailable; answering 503");
                } else {
                    tracing::error!(%error, "jwks-auth: token introspection unavailable; answering 503");
                }
                Err(())
            }
        }
    }
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("routing", &self.routing)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}
