//! ModelScope's points regime as a stateful double: no rate-limit headers, an account whose
//! balance each call freezes by the model's price while it runs and then spends (or refunds,
//! for a call that failed for a system reason), and the out-of-points refusal. The balance
//! endpoint reads the same account, so what the app reports can be checked against it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

use super::upstream::{any_chat, balance, completion};

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
}

#[derive(Debug)]
struct Charge {
    price: f64,
    refunded: bool,
    settles_at: Instant,
}

#[derive(Debug)]
struct State {
    /// The total before any call.
    start: f64,
    charges: Vec<Charge>,
    chat_calls: usize,
    balance_reads: Vec<(f64, f64)>,
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
                    })
                    .collect(),
            ),
            state: Arc::new(Mutex::new(State {
                start: points,
                charges: Vec::new(),
                chat_calls: 0,
                balance_reads: Vec::new(),
            })),
            call_time: Duration::ZERO,
            settle_time: Duration::ZERO,
            out_of_points: (
                429,
                json!({"errors": {"message": "Request limit exceeded.", "request_id": "r"}}),
            ),
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
        let mut models = (*self.models).clone();
        for entry in models.iter_mut().filter(|m| m.id == model) {
            entry.answer = answer;
        }
        self.models = Arc::new(models);
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

    /// The daily grant arrives: `points` more.
    pub fn grant(&self, points: f64) {
        self.lock().start += points;
    }

    /// Every chat call that reached the account, answered or refused.
    pub fn chat_calls(&self) -> usize {
        self.lock().chat_calls
    }

    /// `(available, frozen)` as each balance read saw it, in order.
    pub fn balance_reads(&self) -> Vec<(f64, f64)> {
        self.lock().balance_reads.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn balance_of(state: &State, now: Instant) -> (f64, f64) {
        let mut frozen = 0.0;
        let mut spent = 0.0;
        for charge in &state.charges {
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
        let (available, _) = PointsAccount::balance_of(&state, now);
        if available + 1e-9 < model.price {
            let (status, body) = &account.out_of_points;
            return ResponseTemplate::new(*status).set_body_json(body.clone());
        }
        state.charges.push(Charge {
            price: model.price,
            refunded: matches!(model.answer, Outcome::SystemFailure),
            settles_at: now + account.call_time + account.settle_time,
        });
        let template = match model.answer {
            Outcome::Ok => ResponseTemplate::new(200).set_body_json(completion()),
            Outcome::SystemFailure => ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"message": "Internal error", "request_id": "r"}})),
        };
        template.set_delay(account.call_time)
    }
}

struct BalanceReads(PointsAccount);

impl Respond for BalanceReads {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock();
        let (available, frozen) = PointsAccount::balance_of(&state, Instant::now());
        state.balance_reads.push((available, frozen));
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
