//! Tokens over their life: made (with an expiry), used (noted about once a
//! minute), listed, revoked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::access::{self, Principal, Scope, TokenRecord, TokenRequest};
use super::page::{self, Page};
use super::{Engine, Error, Result};

/// How often a token's `last_used_at` is written: a request does not pay for
/// a write each, and the list is right to within this.
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// When this process last wrote each token's use.
#[derive(Clone, Default)]
pub(super) struct Touched(Arc<Mutex<HashMap<String, Instant>>>);

impl Touched {
    /// Whether `id`'s use is due to be written, and if so notes it as written.
    fn due(&self, id: &str) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        match map.get(id) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                // Forget the long-unused so the map stays as small as the
                // set of tokens in use.
                if map.len() > 10_000 {
                    map.retain(|_, at| now.duration_since(*at) < TOUCH_EVERY);
                }
                map.insert(id.to_owned(), now);
                true
            }
        }
    }
}

impl Engine {
    /// Makes a token; the token itself is returned once and never stored.
    /// A token bound to `program` reaches that program only; a `partner:KEY`
    /// token must be bound, as partner keys are unique per program only.
    pub async fn create_token(
        &self,
        scopes: Vec<Scope>,
        program: Option<String>,
    ) -> Result<String> {
        self.issue_token(TokenRequest {
            scopes,
            program,
            expires_at: None,
        })
        .await
    }

    /// [`Engine::create_token`] with everything a request may say.
    pub async fn issue_token(&self, request: TokenRequest) -> Result<String> {
        let TokenRequest {
            scopes,
            program,
            expires_at,
        } = request;
        if scopes.is_empty() {
            return Err(Error::BadRequest(
                "a token needs at least one scope".to_owned(),
            ));
        }
        if let Some(problem) = program.as_deref().and_then(crate::spec::check::key_problem) {
            return Err(Error::BadRequest(format!("program: {problem}")));
        }
        let partner = scopes.iter().find(|s| matches!(s, Scope::Partner(_)));
        if let Some(partner) = partner {
            let Some(program) = &program else {
                return Err(Error::BadRequest(format!(
                    "a `{partner}` token must name the program the partner belongs to"
                )));
            };
            // Other tokens may be made for a program before its first apply
            // (which creates it); a partner belongs to a program that exists.
            if !self
                .store
                .programs()
                .await?
                .iter()
                .any(|p| p.key == *program)
            {
                return Err(Error::NotFound(format!(
                    "the engine holds no program `{program}`: a `{partner}` token needs the partner's program"
                )));
            }
        }
        if let Some(at) = expires_at
            && at <= Utc::now()
        {
            return Err(Error::BadRequest(format!(
                "`expires_at` {} is not in the future",
                at.to_rfc3339()
            )));
        }
        let (token, record) = access::new_token_until(scopes, program, expires_at);
        self.store.insert_token(&record).await?;
        Ok(token)
    }

    /// Tokens in id order, without their secrets; only those bound to
    /// `program` when given (what an admin token bound to it may see).
    pub async fn tokens_page(
        &self,
        program: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<TokenRecord>> {
        let after = page::decode("tokens", cursor)?;
        let items = self
            .store
            .tokens_page(program, after.as_deref(), limit + 1)
            .await?;
        Ok(Page::of(items, limit, "tokens", |t| t.id.clone()))
    }

    /// Revokes token `id`; `program`, when given, is the only program whose
    /// tokens the caller may revoke.
    pub async fn revoke_token(&self, id: &str, program: Option<&str>) -> Result<TokenRecord> {
        let not_found = || Error::NotFound(format!("no token has id `{id}`"));
        let record = self.store.token_by_id(id).await?.ok_or_else(not_found)?;
        if program.is_some() && record.program.as_deref() != program {
            return Err(not_found());
        }
        if record.revoked_at.is_none() {
            self.store.revoke_token(id, Utc::now()).await?;
        }
        self.store.token_by_id(id).await?.ok_or_else(not_found)
    }

    /// The principal a bearer token stands for.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let record = self
            .store
            .token_by_hash(&access::hash_token(token))
            .await?
            .ok_or_else(|| Error::Unauthorized("the token is not valid".to_owned()))?;
        if let Some(why) = record.unusable(Utc::now()) {
            return Err(Error::Unauthorized(why));
        }
        // Made before partner tokens were bound to a program, with several
        // programs to choose from: which partner it means is unknown.
        if record.program.is_none() && record.scopes.iter().any(|s| matches!(s, Scope::Partner(_)))
        {
            return Err(Error::Unauthorized(
                "this partner token belongs to no program; make a new one with `partnerops token create --scope partner:KEY --program PROGRAM`".to_owned(),
            ));
        }
        if self.touched.due(&record.id) {
            // Off the request's path: a busy store must not slow every
            // request, and a note that fails costs nothing but accuracy.
            let store = self.store.clone();
            let id = record.id.clone();
            tokio::spawn(async move {
                if let Err(e) = store.touch_token(&id, Utc::now()).await {
                    tracing::debug!("noting token {id} as used: {e}");
                }
            });
        }
        Ok(Principal {
            token_id: record.id,
            scopes: record.scopes,
            program: record.program,
        })
    }
}
