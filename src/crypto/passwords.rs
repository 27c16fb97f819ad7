//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1: the OWASP minimum).
//!
//! Every hash and verification is CPU- and memory-heavy (tens of milliseconds, 19 MiB) and
//! blocking. Async callers go through [`run_bounded`]: a few dedicated threads (one per core)
//! do all the hashing, behind a short queue, so anonymous sign-ups and logins can never hold
//! more than `cores × 19 MiB` at once, nor spread that memory over the blocking pool's threads
//! (whose allocator arenas keep it). A full queue is [`PasswordError::Busy`]: answer 503 with
//! `Retry-After` and let the client come back. On glibc the allocator is told to give each
//! hash's 19 MiB back to the system when it ends (see `return_large_buffers_to_the_system`).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid argon2 parameters: {0}")]
    Params(#[source] argon2::Error),
    // The underlying error never contains the password: it reports RNG, length or internal
    // failures only.
    #[error("cannot hash the password: {0}")]
    Hash(#[source] argon2::password_hash::Error),
    #[error("too many password checks at once; try again in a moment")]
    Busy,
}

/// Hashes waiting for a worker, per worker, before new ones are refused as busy.
pub const QUEUE_PER_WORKER: usize = 16;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and their bounded queue.
struct HashPool {
    queue: SyncSender<Job>,
    workers: usize,
}

impl HashPool {
    fn start(workers: usize, queue_len: usize) -> Self {
        let (queue, jobs) = sync_channel::<Job>(queue_len);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..workers {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&jobs));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        Self { queue, workers }
    }

    /// Queues `work`, or refuses at once when the queue is full.
    fn submit<T, F>(&self, work: F) -> Result<tokio::sync::oneshot::Receiver<T>, PasswordError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone away (a closed connection); the result is then dropped.
            let _ = done.send(work());
        });
        match self.queue.try_send(job) {
            Ok(()) => Ok(result),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(PasswordError::Busy),
        }
    }
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // A poisoned lock only means another worker panicked while waiting: go on.
        let next = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = next else { return };
        // A panic in one hash must not take the worker with it.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

/// glibc raises its mmap threshold to the size of the largest block freed so far, so after the
/// first hash every 19 MiB argon2 buffer comes from the heap, and freed heap memory is kept:
/// measured, 200 concurrent sign-ups then left 370-480 MB resident with only two hashes ever
/// running. Pinning the threshold at glibc's own default (128 KiB) keeps large buffers mmapped,
/// so each one goes back to the system when its hash ends (the same flood then peaks at 58 MB).
fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes an allocator tunable; it is called once, before the
        // hashing threads start, and has no memory-safety precondition.
        let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
        if set != 1 {
            tracing::warn!("could not pin the allocator's mmap threshold");
        }
    }
}

static POOL: LazyLock<HashPool> = LazyLock::new(|| {
    return_large_buffers_to_the_system();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    HashPool::start(workers, workers * QUEUE_PER_WORKER)
});

/// How many hashes may run at once (one per core).
pub fn concurrent_hashes() -> usize {
    POOL.workers
}

/// Runs `work` (a hash or a verification) on the hashing threads and waits for it;
/// [`PasswordError::Busy`] at once when the queue is full.
pub async fn run_bounded<T, F>(work: F) -> Result<T, PasswordError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let result = POOL.submit(work)?;
    // A job that panicked drops its sender: report it as busy rather than hang.
    result.await.map_err(|_| PasswordError::Busy)
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(PasswordError::Params)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with argon2id and a fresh random salt; returns the PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) to store. Blocking: see the module docs.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let hash = hasher()?
        .hash_password(password.as_bytes())
        .map_err(PasswordError::Hash)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed or unsupported hash is simply
/// `false`. Blocking: see the module docs.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The parameters come from the PHC string itself, so older hashes keep verifying if the
    // defaults above are ever raised.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Burns the same time as checking a wrong password, for a login naming an unknown user, so
/// response time does not reveal which usernames exist. Blocking: see the module docs.
pub fn verify_against_dummy(password: &str) {
    match dummy_hash() {
        Some(phc) => {
            // The result is irrelevant: the user does not exist.
            let _ = verify_password(password, phc);
        }
        // Unreachable with the constant parameters, but if it ever happened, hashing still
        // costs the same as a verification.
        None => {
            let _ = hash_password(password);
        }
    }
}

/// A PHC hash with the same parameters as real ones, made once on first use. A fixed salt is
/// fine here (no real password is behind it) and avoids needing the RNG.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = b"modelscope-dummy";
            hasher()
                .ok()?
                .hash_password_with_salt(b"no user has this password", salt)
                .ok()
                .map(|hash| hash.to_string())
        })
        .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let phc = hash_password("correct horse battery staple").expect("hash");
        assert!(verify_password("correct horse battery staple", &phc));
    }

    #[test]
    fn wrong_password_is_false() {
        let phc = hash_password("correct horse battery staple").expect("hash");
        assert!(!verify_password("correct horse battery stapler", &phc));
        assert!(!verify_password("", &phc));
    }

    #[test]
    fn same_password_gets_different_salts() {
        let a = hash_password("pw").expect("hash");
        let b = hash_password("pw").expect("hash");
        assert_ne!(a, b);
    }

    #[test]
    fn garbage_hash_is_false() {
        assert!(!verify_password("pw", ""));
        assert!(!verify_password("pw", "not a hash"));
        assert!(!verify_password("pw", "$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!verify_password(
            "pw",
            "$argon2id$v=19$m=19456,t=2,p=1$!!!$???"
        ));
        assert!(!verify_password("pw", "$md5$abc$def"));
    }

    #[test]
    fn phc_names_argon2id_and_parameters() {
        let phc = hash_password("pw").expect("hash");
        assert!(
            phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected PHC string {phc}"
        );
    }

    #[tokio::test]
    async fn hashing_runs_on_the_bounded_pool() {
        assert!(concurrent_hashes() >= 1);
        let phc = run_bounded(|| hash_password("pw")).await.unwrap().unwrap();
        assert!(
            run_bounded(move || verify_password("pw", &phc))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_at_once_and_the_queued_work_still_runs() {
        let pool = HashPool::start(1, 2);
        let gate = Arc::new(std::sync::Barrier::new(2));
        let held = {
            let gate = gate.clone();
            pool.submit(move || {
                gate.wait();
                0
            })
            .unwrap()
        };
        // Let the worker take the first job, so the queue is empty again.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let mut queued = Vec::new();
        let mut busy = 0;
        for n in 1..=10 {
            match pool.submit(move || n) {
                Ok(result) => queued.push(result),
                Err(PasswordError::Busy) => busy += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(queued.len(), 2);
        assert_eq!(busy, 8);
        gate.wait();
        assert_eq!(held.await.unwrap(), 0);
        for result in queued {
            assert!((1..=10).contains(&result.await.unwrap()));
        }
    }

    #[test]
    fn dummy_uses_same_parameters_and_rejects() {
        let dummy = dummy_hash().expect("dummy hash");
        assert!(dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!verify_password("pw", dummy));
        verify_against_dummy("pw");
    }
}
