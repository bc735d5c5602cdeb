//! The Hub's HTTP side: where it is, the token, and one GET at a time with redirects followed
//! here rather than inside the HTTP library, so that a `Range` header survives a redirect and
//! the token never leaves the Hub's own host (the Hub sends large files to a CDN whose
//! presigned URLs must not carry it).

use std::fmt;
use std::io::Read;
use std::time::Duration;

use ureq::http::HeaderMap;

use crate::error::Error;
use crate::retry::RetryPolicy;

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Redirects followed for one request before giving up.
const MAX_REDIRECTS: usize = 10;

/// How much of an error body is read for its message.
const ERROR_BODY_LIMIT: u64 = 4096;

/// Where the Hub is and how to talk to it.
#[derive(Clone)]
pub struct HubConfig {
    /// The Hub's address, e.g. `https://huggingface.co` (the `HF_ENDPOINT` convention).
    pub endpoint: String,
    /// An access token, sent as `Authorization: Bearer` to the endpoint's host only.
    pub token: Option<String>,
    /// Retries on connection failures, 5xx and 429.
    pub retry: RetryPolicy,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for any one read from a connection (a stalled download is retried).
    pub read_timeout: Duration,
}

impl HubConfig {
    /// A configuration for `endpoint` (a trailing `/` is dropped) with no token and the
    /// default retries and timeouts.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            token: None,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
        }
    }

    /// The same with `token` (an empty one counts as none).
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.trim().is_empty());
        self
    }
}

impl Default for HubConfig {
    /// The public Hub, no token.
    fn default() -> Self {
        Self::new(DEFAULT_ENDPOINT)
    }
}

impl fmt::Debug for HubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubConfig")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

/// A connection to the Hub (a pool of them, reused between requests).
pub struct Hub {
    config: HubConfig,
    agent: ureq::Agent,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub").field("config", &self.config).finish()
    }
}

/// One answer, after redirects.
pub(crate) struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The URL that gave it (the last one of the redirects).
    pub url: String,
    headers: HeaderMap,
    body: ureq::Body,
}

/// Why a request did not give a usable answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth asking again: a dropped or refused connection, a timeout, 5xx, 429.
    Transient {
        /// What happened.
        reason: String,
        /// What the server asked us to wait, if it did.
        retry_after: Option<Duration>,
    },
    /// Asking again will not help.
    Fatal(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Fatal(e)
    }
}

/// What a request was for, to turn a refusal into the right error.
pub(crate) enum Purpose<'a> {
    /// The listing of `repo` at `revision`.
    Listing {
        /// `owner/name`.
        repo: &'a str,
        /// The revision asked for.
        revision: &'a str,
    },
    /// A file of `repo`.
    File {
        /// `owner/name`.
        repo: &'a str,
        /// The commit.
        commit: &'a str,
        /// The path in the repository.
        path: &'a str,
    },
}

impl Hub {
    /// A client for the Hub `config` describes. Proxies come from the usual environment
    /// variables (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, ...).
    pub fn new(config: HubConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .user_agent(concat!("void/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self { config, agent }
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// The address of the listing of `repo` at `revision`, with file sizes and hashes.
    pub fn listing_url(&self, repo: &str, revision: &str) -> String {
        format!(
            "{}/api/models/{repo}/revision/{}?blobs=true",
            self.config.endpoint,
            encode(revision, false)
        )
    }

    /// The address of the file `path` of `repo` at `revision` (a commit id, to get exactly the
    /// listed file).
    pub fn file_url(&self, repo: &str, revision: &str, path: &str) -> String {
        format!(
            "{}/{repo}/resolve/{}/{}",
            self.config.endpoint,
            encode(revision, false),
            encode(path, true)
        )
    }

    /// One GET of `url`, from byte `from` on (a `Range` request when not 0), following
    /// redirects. Any status comes back as a [`Reply`]; only transport failures are errors.
    pub(crate) fn get(&self, url: &str, from: u64) -> Result<Reply, Failure> {
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.agent.get(&url);
            if from > 0 {
                request = request.header("Range", format!("bytes={from}-"));
            }
            if let Some(token) = &self.config.token
                && same_origin(&url, &self.config.endpoint)
            {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            let response = request.call().map_err(|e| transport_failure(&url, e))?;
            let status = response.status().as_u16();
            let (parts, body) = response.into_parts();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = parts
                    .headers
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| Error::Protocol {
                        url: url.clone(),
                        reason: format!("redirect (HTTP {status}) without a Location"),
                    })?;
                tracing::debug!(from = %url, to = %location, status, "redirect");
                url = join(&url, location);
                continue;
            }
            return Ok(Reply {
                status,
                url,
                headers: parts.headers,
                body,
            });
        }
        Err(Failure::Fatal(Error::Protocol {
            url,
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        }))
    }
}

impl Reply {
    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as a reader, without a size limit.
    pub fn into_reader(self) -> impl Read {
        self.body.into_reader()
    }

    /// The whole body as text, at most `limit` bytes.
    pub fn text(mut self, limit: u64) -> Result<String, Failure> {
        let url = self.url.clone();
        self.body
            .with_config()
            .limit(limit)
            .read_to_string()
            .map_err(|e| transport_failure(&url, e))
    }

    /// The failure this answer means, for a status that is not a success.
    pub fn refusal(mut self, purpose: &Purpose<'_>) -> Failure {
        let status = self.status;
        if status == 429 || (500..=599).contains(&status) {
            let retry_after = self
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Failure::Transient {
                reason: format!("HTTP {status}"),
                retry_after,
            };
        }
        let code = self.header("x-error-code").unwrap_or_default().to_string();
        let detail = self.detail();
        let error = match (purpose, status, code.as_str()) {
            (Purpose::Listing { repo, revision }, 404, "RevisionNotFound") => {
                Error::RevisionNotFound {
                    repo: repo.to_string(),
                    revision: revision.to_string(),
                }
            }
            (Purpose::Listing { repo, .. } | Purpose::File { repo, .. }, _, "GatedRepo")
            | (Purpose::Listing { repo, .. } | Purpose::File { repo, .. }, 403, _) => {
                Error::AccessDenied {
                    repo: repo.to_string(),
                    status,
                    detail,
                }
            }
            (Purpose::Listing { repo, .. }, 401 | 404, _)
            | (Purpose::File { repo, .. }, 401, _)
            | (Purpose::File { repo, .. }, 404, "RepoNotFound") => Error::RepoNotFound {
                repo: repo.to_string(),
                endpoint: origin(&self.url).to_string(),
                status,
                detail,
            },
            (Purpose::File { repo, commit, path }, 404, _) => Error::MissingRemoteFile {
                repo: repo.to_string(),
                commit: commit.to_string(),
                path: path.to_string(),
                hint: "the listing named it but the server has no such file",
            },
            _ => Error::Http {
                url: self.url.clone(),
                status,
                detail,
            },
        };
        Failure::Fatal(error)
    }

    /// The server's explanation: the `X-Error-Message` header, else the `error` field of a
    /// JSON body, as `: message`, or nothing.
    fn detail(&mut self) -> String {
        let message = match self.header("x-error-message") {
            Some(m) => Some(m.to_string()),
            None => self
                .body
                .with_config()
                .limit(ERROR_BODY_LIMIT)
                .read_to_string()
                .ok()
                .and_then(|text| {
                    serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v.get("error")?.as_str().map(str::to_string))
                }),
        };
        message
            .filter(|m| !m.trim().is_empty())
            .map(|m| format!(": {}", m.trim()))
            .unwrap_or_default()
    }
}

/// A transport error as a failure: connection problems are transient, TLS and address
/// problems are not.
fn transport_failure(url: &str, e: ureq::Error) -> Failure {
    let fatal = |reason: String| {
        Failure::Fatal(Error::Network {
            url: url.to_string(),
            reason,
            attempts: 1,
        })
    };
    match e {
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::Protocol(_) => Failure::Transient {
            reason: e.to_string(),
            retry_after: None,
        },
        ureq::Error::HostNotFound => fatal(format!(
            "cannot resolve the host of {} (no network? `--offline` checks the files already there)",
            origin(url)
        )),
        ureq::Error::BadUri(reason) => Failure::Fatal(Error::Protocol {
            url: url.to_string(),
            reason: format!("not a valid URL: {reason}"),
        }),
        other => fatal(other.to_string()),
    }
}

/// Percent-encodes everything but unreserved characters (and `/` when `keep_slash`), as the
/// Hub's clients quote revisions and file paths.
pub(crate) fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://authority` of a URL (all of it when it has no path).
fn origin(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    &url[..end]
}

/// Whether two URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    origin(a).eq_ignore_ascii_case(origin(b))
}

/// Resolves a redirect's `Location` against the URL that sent it.
fn join(base: &str, location: &str) -> String {
    if location.contains("://") {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        let scheme = base.split("://").next().unwrap_or("https");
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{}{location}", origin(base))
    } else {
        let path_end = base.find(['?', '#']).unwrap_or(base.len());
        let dir_end = base[..path_end]
            .rfind('/')
            .filter(|&i| i >= origin(base).len())
            .map_or(path_end, |i| i + 1);
        let sep = if dir_end == path_end { "/" } else { "" };
        format!("{}{sep}{location}", &base[..dir_end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_revisions_and_paths_like_the_hub_clients() {
        assert_eq!(encode("main", false), "main");
        assert_eq!(encode("refs/pr/1", false), "refs%2Fpr%2F1");
        assert_eq!(
            encode("text_encoder/model-00001-of-00002.safetensors", true),
            "text_encoder/model-00001-of-00002.safetensors"
        );
        assert_eq!(encode("a b+c", true), "a%20b%2Bc");
    }

    #[test]
    fn builds_hub_urls() {
        let hub = Hub::new(HubConfig::new("http://127.0.0.1:9/"));
        assert_eq!(
            hub.listing_url("netflix/void-model", "main"),
            "http://127.0.0.1:9/api/models/netflix/void-model/revision/main?blobs=true"
        );
        assert_eq!(
            hub.file_url("netflix/void-model", "abc123", "void_pass1.safetensors"),
            "http://127.0.0.1:9/netflix/void-model/resolve/abc123/void_pass1.safetensors"
        );
    }

    #[test]
    fn resolves_redirect_locations() {
        let base = "https://huggingface.co/org/repo/resolve/main/vae/config.json?x=1";
        assert_eq!(
            join(base, "https://cdn.example/blob?sig=1"),
            "https://cdn.example/blob?sig=1"
        );
        assert_eq!(join(base, "//cdn.example/blob"), "https://cdn.example/blob");
        assert_eq!(
            join(
                base,
                "/api/resolve-cache/models/org/repo/abc/vae/config.json"
            ),
            "https://huggingface.co/api/resolve-cache/models/org/repo/abc/vae/config.json"
        );
        assert_eq!(
            join(base, "other.json"),
            "https://huggingface.co/org/repo/resolve/main/vae/other.json"
        );
        assert_eq!(join("http://h:1", "x"), "http://h:1/x");
    }

    #[test]
    fn compares_origins() {
        assert!(same_origin(
            "https://huggingface.co/a/b",
            "https://HuggingFace.co"
        ));
        assert!(!same_origin(
            "https://cdn-lfs.hf.co/a",
            "https://huggingface.co"
        ));
        assert!(!same_origin("http://127.0.0.1:1/a", "http://127.0.0.1:2"));
    }

    #[test]
    fn debug_hides_the_token() {
        let config = HubConfig::default().with_token(Some("hf_secret".into()));
        assert!(!format!("{config:?}").contains("hf_secret"));
        assert_eq!(
            HubConfig::default().with_token(Some(" ".into())).token,
            None
        );
    }
}
