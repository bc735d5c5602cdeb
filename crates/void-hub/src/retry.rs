//! How often and how long to wait before asking again after a network failure.

use std::time::Duration;

/// Retries with exponential backoff: after the n-th failure in a row, wait
/// `first_delay * 2^(n-1)` (capped at `max_delay`, or what a `Retry-After` header asks, capped
/// the same way), and give up after `attempts` failures in a row. A download that received
/// bytes before failing starts counting again, so a long download survives many drops as long
/// as each connection makes progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Failures in a row after which to give up (at least 1: one attempt, no retry).
    pub attempts: u32,
    /// The wait after the first failure.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 6 attempts, waiting 1, 2, 4, 8 and 16 s in between.
    fn default() -> Self {
        Self {
            attempts: 6,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failures` failures in a row (1 for the first), or `None` when that is
    /// too many and the caller should give up.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if failures >= self.attempts.max(1) {
            return None;
        }
        let backoff = self
            .first_delay
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        Some(retry_after.unwrap_or(backoff).min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_then_gives_up() {
        let policy = RetryPolicy::default();
        let waits: Vec<Option<u64>> = (1..=6)
            .map(|n| policy.delay(n, None).map(|d| d.as_secs()))
            .collect();
        assert_eq!(waits, [Some(1), Some(2), Some(4), Some(8), Some(16), None]);
    }

    #[test]
    fn honours_retry_after_within_the_cap() {
        let policy = RetryPolicy::default();
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs());
        assert_eq!(secs(policy.delay(1, Some(Duration::from_secs(7)))), Some(7));
        assert_eq!(
            secs(policy.delay(1, Some(Duration::from_secs(600)))),
            Some(30)
        );
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let policy = RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.delay(1, None), None);
        let zero = RetryPolicy {
            attempts: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(zero.delay(1, None), None);
    }
}
