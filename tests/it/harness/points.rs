//! ModelScope's points regime as a stateful double: no daily rate-limit headers, an account
//! whose balance each call freezes by the model's price while it runs and then spends (or
//! refunds, for a call that failed for a system reason), and the out-of-points refusal. The
//! balance endpoint reads the same account, so what the app reports can be checked against it.
//!
//! It also learns what the app must cope with: another client spending the key while a run's
//! calls are in flight (a charge the app did not make), the international site's monthly
//! headers per model, and the rates endpoint (answering, missing, failing, hanging). Every
//! balance read and chat call is logged in order.
//!
//! The two optional endpoints, when mounted ([`PointsAccount::with_ledger`],
//! [`PointsAccount::with_earn_rules`]): the ledger's grant rows (the grants made with
//! [`PointsAccount::grant_at`]) and today's earn rules (claimed once a grant came).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::upstream::{EARN_RULES_PATH, LEDGER_PATH, any_chat, balance, completion};

pub const RATES_PATH: &str = "/openapi/v1/magicubes/spend/rates";
pub const MONTH_LIMIT: &str = "modelscope-ratelimit-model-month-requests-limit";
pub const MONTH_REMAINING: &str = "modelscope-ratelimit-model-month-requests-remaining";

/// How a model behaves on this account.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// 200 and the price is spent.
    Ok,
    /// 500 after holding the price, which comes back (a system failure is refunded).
    SystemFailure,
}

#[derive(Debug, Clone)]
struct Model {
    id: String,
    price: f64,
    answer: Outcome,
    /// The monthly pair: limit, and what is left before the first call.
    monthly: Option<(i64, i64)>,
}

#[derive(Debug)]
struct Charge {
    price: f64,
    refunded: bool,
    starts_at: Instant,
    settles_at: Instant,
}

/// Another client's call on the same key, started by one of the app's chat calls.
#[derive(Debug, Clone, Copy)]
struct Outside {
    /// The app's chat call (1 = the first) whose arrival starts it.
    on_call: usize,
    price: f64,
    /// How long after that arrival it starts, and how long it holds its price.
    after: Duration,
    hold: Duration,
}

/// What reached the account, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A balance read: available, frozen.
    Read(f64, f64),
    /// A chat call of this model.
    Chat(String),
}

#[derive(Debug)]
struct State {
    /// The total before any call.
    start: f64,
    charges: Vec<Charge>,
    chat_calls: usize,
    balance_reads: Vec<(f64, f64)>,
    events: Vec<Event>,
    /// Calls made per model (for the monthly headers).
    calls_of: Vec<(String, i64)>,
    /// Grants as the ledger lists them: `(unix seconds, points)`.
    grants: Vec<(i64, f64)>,
}

/// How an optional endpoint of the double answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optional {
    /// As documented.
    Answering,
    /// HTTP 500.
    Failing,
    /// 200 with a body of a shape nobody documented.
    OddShape,
    /// 401, as when a token alone does not reach it.
    Refusing,
}

/// One ModelScope account in the points regime; clone it to hand it to both mocks.
#[derive(Clone)]
pub struct PointsAccount {
    models: Arc<Vec<Model>>,
    state: Arc<Mutex<State>>,
    /// How long a call takes to answer.
    call_time: Duration,
    /// How long its points stay frozen after it answered.
    settle_time: Duration,
    /// The refusal when the price is not available: status and body.
    out_of_points: (u16, Value),
    outside: Arc<Vec<Outside>>,
}

impl PointsAccount {
    /// An account holding `points`; every model in `models` answers at its price.
    pub fn new(points: f64, models: &[(&str, f64)]) -> Self {
        Self {
            models: Arc::new(
                models
                    .iter()
                    .map(|(id, price)| Model {
                        id: (*id).to_owned(),
                        price: *price,
                        answer: Outcome::Ok,
                        monthly: None,
                    })
                    .collect(),
            ),
            state: Arc::new(Mutex::new(State {
                start: points,
                charges: Vec::new(),
                chat_calls: 0,
                balance_reads: Vec::new(),
                events: Vec::new(),
                calls_of: Vec::new(),
                grants: Vec::new(),
            })),
            call_time: Duration::ZERO,
            settle_time: Duration::ZERO,
            out_of_points: (
                429,
                json!({"errors": {"message": "Request limit exceeded.", "request_id": "r"}}),
            ),
            outside: Arc::new(Vec::new()),
        }
    }

    /// Calls take `call` to answer and hold their points `settle` longer.
    pub fn timed(mut self, call: Duration, settle: Duration) -> Self {
        self.call_time = call;
        self.settle_time = settle;
        self
    }

    /// `model` answers `answer` instead of 200.
    pub fn answering(mut self, model: &str, answer: Outcome) -> Self {
        self.edit(model, |m| m.answer = answer);
        self
    }

    /// `model` sends the monthly pair: `limit`, and `remaining` before the first call (one
    /// less after each).
    pub fn monthly(mut self, model: &str, limit: i64, remaining: i64) -> Self {
        self.edit(model, |m| m.monthly = Some((limit, remaining)));
        self
    }

    fn edit(&mut self, model: &str, change: impl Fn(&mut Model)) {
        let mut models = (*self.models).clone();
        for entry in models.iter_mut().filter(|m| m.id == model) {
            change(entry);
        }
        self.models = Arc::new(models);
    }

    /// Another client spends `price` on the key: its call starts `after` the app's chat call
    /// number `on_call` arrives (1 = the first) and holds its price for `hold`.
    pub fn spent_elsewhere(
        mut self,
        on_call: usize,
        price: f64,
        after: Duration,
        hold: Duration,
    ) -> Self {
        let mut outside = (*self.outside).clone();
        outside.push(Outside {
            on_call,
            price,
            after,
            hold,
        });
        self.outside = Arc::new(outside);
        self
    }

    /// The refusal sent when the points do not cover a call.
    pub fn refusing_with(mut self, status: u16, body: Value) -> Self {
        self.out_of_points = (status, body);
        self
    }

    /// Mounts the chat and balance endpoints of this account on `server`.
    pub async fn mount(&self, server: &MockServer) {
        any_chat()
            .respond_with(ChatCalls(self.clone()))
            .named("points-regime chat")
            .mount(server)
            .await;
        balance()
            .respond_with(BalanceReads(self.clone()))
            .named("points-regime balance")
            .mount(server)
            .await;
    }

    /// Mounts the chat and balance endpoints of this account for calls made with `key` only
    /// (two accounts on one server).
    pub async fn mount_for_key(&self, server: &MockServer, key: &str) {
        let bearer = format!("Bearer {key}");
        any_chat()
            .and(header("Authorization", bearer.as_str()))
            .respond_with(ChatCalls(self.clone()))
            .mount(server)
            .await;
        balance()
            .and(header("Authorization", bearer.as_str()))
            .respond_with(BalanceReads(self.clone()))
            .mount(server)
            .await;
    }

    /// The daily grant arrives: `points` more.
    pub fn grant(&self, points: f64) {
        self.lock().start += points;
    }

    /// A grant of `points` at `at` (unix seconds), listed by the ledger.
    pub fn grant_at(&self, points: f64, at: i64) {
        let mut state = self.lock();
        state.start += points;
        state.grants.push((at, points));
    }

    /// Another client (not this app) spends `points`.
    pub fn spend(&self, points: f64) {
        self.lock().start -= points;
    }

    /// Mounts the ledger (`transactions?type=EARN`) answering as `how`.
    pub async fn with_ledger(&self, server: &MockServer, how: Optional) {
        Mock::given(method("GET"))
            .and(path(LEDGER_PATH))
            .respond_with(Ledger(self.clone(), how))
            .named("points ledger")
            .mount(server)
            .await;
    }

    /// Mounts today's earn rules answering as `how`: unclaimed until a grant came.
    pub async fn with_earn_rules(&self, server: &MockServer, how: Optional) {
        Mock::given(method("GET"))
            .and(path(EARN_RULES_PATH))
            .respond_with(EarnRules(self.clone(), how))
            .named("earn rules")
            .mount(server)
            .await;
    }

    /// Another client's call, right now: it holds `price` for `hold`, then spends it.
    pub fn spend_now(&self, price: f64, hold: Duration) {
        let now = Instant::now();
        self.lock().charges.push(Charge {
            price,
            refunded: false,
            starts_at: now,
            settles_at: now + hold,
        });
    }

    /// Every chat call that reached the account, answered or refused.
    pub fn chat_calls(&self) -> usize {
        self.lock().chat_calls
    }

    /// `(available, frozen)` as each balance read saw it, in order.
    pub fn balance_reads(&self) -> Vec<(f64, f64)> {
        self.lock().balance_reads.clone()
    }

    /// Balance reads and chat calls, in the order they reached the account.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// The available points now.
    pub fn available(&self) -> f64 {
        Self::balance_of(&self.lock(), Instant::now()).0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn balance_of(state: &State, now: Instant) -> (f64, f64) {
        let mut frozen = 0.0;
        let mut spent = 0.0;
        for charge in state.charges.iter().filter(|c| now >= c.starts_at) {
            if now < charge.settles_at {
                frozen += charge.price;
            } else if !charge.refunded {
                spent += charge.price;
            }
        }
        (state.start - spent - frozen, frozen)
    }
}

struct ChatCalls(PointsAccount);

impl Respond for ChatCalls {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let account = &self.0;
        let asked: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let Some(model) = asked["model"]
            .as_str()
            .and_then(|id| account.models.iter().find(|m| m.id == id))
        else {
            return ResponseTemplate::new(400).set_body_json(json!({
                "errors": {"message": "Model id : unknown , has no provider supported"}
            }));
        };
        let now = Instant::now();
        let mut state = account.lock();
        state.chat_calls += 1;
        state.events.push(Event::Chat(model.id.clone()));
        let number = state.chat_calls;
        for outside in account.outside.iter().filter(|o| o.on_call == number) {
            let starts_at = now + outside.after;
            state.charges.push(Charge {
                price: outside.price,
                refunded: false,
                starts_at,
                settles_at: starts_at + outside.hold,
            });
        }
        let (available, _) = PointsAccount::balance_of(&state, now);
        if available + 1e-9 < model.price {
            let (status, body) = &account.out_of_points;
            return ResponseTemplate::new(*status).set_body_json(body.clone());
        }
        state.charges.push(Charge {
            price: model.price,
            refunded: matches!(model.answer, Outcome::SystemFailure),
            starts_at: now,
            settles_at: now + account.call_time + account.settle_time,
        });
        let calls = match state.calls_of.iter_mut().find(|(m, _)| *m == model.id) {
            Some((_, calls)) => {
                *calls += 1;
                *calls
            }
            None => {
                state.calls_of.push((model.id.clone(), 1));
                1
            }
        };
        let mut template = match model.answer {
            Outcome::Ok => ResponseTemplate::new(200).set_body_json(completion()),
            Outcome::SystemFailure => ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"message": "Internal error", "request_id": "r"}})),
        };
        if let Some((limit, remaining)) = model.monthly {
            template = template
                .insert_header(MONTH_LIMIT, limit.to_string())
                .insert_header(MONTH_REMAINING, (remaining - calls).max(0).to_string());
        }
        template.set_delay(account.call_time)
    }
}

/// The answer of an optional endpoint that does not answer as documented.
fn not_answering(how: Optional) -> Option<ResponseTemplate> {
    match how {
        Optional::Answering => None,
        Optional::Failing => Some(ResponseTemplate::new(500).set_body_string("busy")),
        Optional::OddShape => Some(
            ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": {"page": 1}})),
        ),
        Optional::Refusing => Some(ResponseTemplate::new(401).set_body_json(json!({
            "success": false, "code": "Unauthorized", "message": "login required"
        }))),
    }
}

struct Ledger(PointsAccount, Optional);

impl Respond for Ledger {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Some(refusal) = not_answering(self.1) {
            return refusal;
        }
        let earn = request
            .url
            .query_pairs()
            .any(|(name, value)| name == "type" && value == "EARN");
        let rows: Vec<Value> = self
            .0
            .lock()
            .grants
            .iter()
            .filter(|_| earn)
            .map(|(at, points)| {
                // Beijing time without a zone, as the ledger is likely to write it.
                let beijing = time::OffsetDateTime::from_unix_timestamp(*at)
                    .expect("a time")
                    .to_offset(time::macros::offset!(+8));
                json!({
                    "gmt_created": format!(
                        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                        beijing.year(), u8::from(beijing.month()), beijing.day(),
                        beijing.hour(), beijing.minute(), beijing.second()
                    ),
                    "model_tier": null,
                    "total_amount": points,
                    "count": 1,
                })
            })
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"success": true, "request_id": "r", "data": rows}))
    }
}

struct EarnRules(PointsAccount, Optional);

impl Respond for EarnRules {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        if let Some(refusal) = not_answering(self.1) {
            return refusal;
        }
        let claimed = !self.0.lock().grants.is_empty();
        let (used, remain) = if claimed { (200, 0) } else { (0, 200) };
        ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": [{
            "rule_key": "daily_login", "amount": 200, "daily_cap": 200,
            "today_used": used, "today_remain": remain,
        }]}))
    }
}

struct BalanceReads(PointsAccount);

impl Respond for BalanceReads {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock();
        let (available, frozen) = PointsAccount::balance_of(&state, Instant::now());
        state.balance_reads.push((available, frozen));
        state.events.push(Event::Read(available, frozen));
        ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "request_id": "r",
            "data": {
                "total_balance": available + frozen,
                "available_balance": available,
                "frozen_amount": frozen,
            }
        }))
    }
}

/// How the rates endpoint behaves.
pub enum Rates {
    /// Answers with these per-request prices of API-Inference.
    Table(&'static [f64]),
    /// Answers this status.
    Status(u16),
    /// Answers only after this long.
    Hang(Duration),
}

/// Mounts the rates endpoint on `server`.
pub async fn mount_rates(server: &MockServer, rates: Rates) {
    let template = match rates {
        Rates::Table(prices) => ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "data": {"rates": prices.iter().map(|p| json!({
                "scene": "api_inference", "model_tier": "t", "unit": "request",
                "unit_price": p, "min_charge": p,
            })).collect::<Vec<_>>()},
        })),
        Rates::Status(status) => {
            ResponseTemplate::new(status).set_body_json(json!({"success": false, "message": "no"}))
        }
        Rates::Hang(wait) => ResponseTemplate::new(200)
            .set_body_json(json!({"success": true, "data": {"rates": [{"unit_price": 9}]}}))
            .set_delay(wait),
    };
    Mock::given(method("GET"))
        .and(path(RATES_PATH))
        .respond_with(template)
        .named("rates")
        .mount(server)
        .await;
}
