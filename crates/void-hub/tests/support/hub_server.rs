//! A small Hugging Face Hub for tests, on 127.0.0.1, std only.
//!
//! It serves the two URL kinds void uses: the listing
//! (`/api/models/{repo}/revision/{rev}?blobs=true`, answering `sha` and `siblings` with sizes,
//! git blob ids and LFS sha256) and files (`/{repo}/resolve/{rev}/{path}`). LFS files are
//! redirected (302) to a second listener standing in for the CDN, on another port, so it is
//! another origin. Files honour `Range: bytes=N-`. Faults can be injected per file and every
//! request is logged. Unknown repositories get 404 with `X-Error-Code: RepoNotFound`, unknown
//! revisions `RevisionNotFound`, unknown files `EntryNotFound`, as the Hub answers.

#![allow(dead_code, clippy::unwrap_used)] // each test crate uses part of it

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The base model's repository id.
pub const BASE: &str = "alibaba-pai/CogVideoX-Fun-V1.5-5b-InP";
/// The VOID checkpoints' repository id.
pub const VOID: &str = "netflix/void-model";

/// One file of a repository.
#[derive(Clone, Debug)]
pub struct HubFile {
    /// Path in the repository.
    pub path: String,
    /// Content.
    pub content: Vec<u8>,
    /// Stored with LFS (listed with sha256, served through the CDN).
    pub lfs: bool,
}

impl HubFile {
    /// SHA-256 of the content, hex.
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(&self.content))
    }

    /// Git blob id of the content, hex.
    pub fn git_sha1(&self) -> String {
        let mut h = Sha1::new();
        h.update(format!("blob {}\0", self.content.len()).as_bytes());
        h.update(&self.content);
        hex(&h.finalize())
    }
}

/// A repository at one commit.
#[derive(Clone, Debug)]
pub struct HubRepo {
    /// `owner/name`.
    pub id: String,
    /// Its commit id (answered for `main` too).
    pub commit: String,
    /// Its files.
    pub files: Vec<HubFile>,
}

impl HubRepo {
    /// The file at `path`.
    pub fn file(&self, path: &str) -> &HubFile {
        self.files.iter().find(|f| f.path == path).unwrap()
    }
}

/// Something to go wrong when a file (or, with key `api:{repo}`, a listing) is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Send the headers of the whole answer, then only this many body bytes, then close.
    DropAfter(usize),
    /// Answer this status with an empty body.
    Status(u16),
    /// Send the content with one byte changed.
    Corrupt,
    /// Ignore `Range` and send everything with 200.
    IgnoreRange,
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    /// `hub` or `cdn`.
    pub server: &'static str,
    /// The path, without the query.
    pub path: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The status answered.
    pub status: u16,
    /// Body bytes sent.
    pub body_bytes: usize,
}

#[derive(Default)]
struct State {
    repos: Vec<HubRepo>,
    /// key (file path, or `api:{repo}`) -> (fault, times left).
    faults: HashMap<String, (Fault, usize)>,
    log: Vec<Logged>,
    cdn: String,
}

/// The running server. It stops serving when dropped.
pub struct HubServer {
    /// `http://127.0.0.1:PORT`, the value for `HF_ENDPOINT`.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl HubServer {
    /// Serves `repos`.
    pub fn start(repos: Vec<HubRepo>) -> Self {
        let hub = TcpListener::bind("127.0.0.1:0").unwrap();
        let cdn = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", hub.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            repos,
            cdn: format!("http://{}", cdn.local_addr().unwrap()),
            ..State::default()
        }));
        for (listener, server) in [(hub, "hub"), (cdn, "cdn")] {
            let state = Arc::clone(&state);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    thread::spawn(move || handle(stream, server, &state));
                }
            });
        }
        Self { endpoint, state }
    }

    /// Makes `fault` happen on the next `times` requests for `key` (a file path in its
    /// repository, or `api:{repo}` for a listing).
    pub fn fault(&self, key: &str, fault: Fault, times: usize) {
        self.state
            .lock()
            .unwrap()
            .faults
            .insert(key.to_string(), (fault, times));
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Forgets the requests so far.
    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// The requests that fetched `repo_path`'s bytes (from the hub or the CDN).
    pub fn file_requests(&self, repo_path: &str) -> Vec<Logged> {
        let state = self.state.lock().unwrap();
        let file = state
            .repos
            .iter()
            .flat_map(|r| &r.files)
            .find(|f| f.path == repo_path)
            .unwrap()
            .clone();
        let cdn_path = format!("/blobs/{}", file.sha256());
        state
            .log
            .iter()
            .filter(|l| {
                l.path == cdn_path
                    || (l.server == "hub"
                        && l.path.contains("/resolve/")
                        && l.path.ends_with(&format!("/{repo_path}")))
            })
            .cloned()
            .collect()
    }
}

/// Deterministic bytes of length `len`, different for each `seed`.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn text(path: &str, content: &str) -> HubFile {
    HubFile {
        path: path.into(),
        content: content.as_bytes().to_vec(),
        lfs: false,
    }
}

fn lfs(path: &str, len: usize, seed: u64) -> HubFile {
    HubFile {
        path: path.into(),
        content: bytes(len, seed),
        lfs: true,
    }
}

/// The base model as the Hub holds it (small stand-ins for the weights), plus files void must
/// leave alone: README, images, `.gitattributes`, the transformer's weights.
pub fn base_repo() -> HubRepo {
    HubRepo {
        id: BASE.into(),
        commit: "b0a5e0000000000000000000000000000000c0de".into(),
        files: vec![
            text(
                ".gitattributes",
                "*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
            ),
            text("README.md", "# CogVideoX-Fun\n"),
            lfs("asset/logo.png", 5_000, 1),
            text(
                "model_index.json",
                r#"{"_class_name": "CogVideoXPipeline"}"#,
            ),
            text(
                "scheduler/scheduler_config.json",
                r#"{"_class_name": "CogVideoXDDIMScheduler", "num_train_timesteps": 1000}"#,
            ),
            text("text_encoder/config.json", r#"{"d_model": 4096}"#),
            lfs("text_encoder/model-00001-of-00002.safetensors", 300_000, 2),
            lfs("text_encoder/model-00002-of-00002.safetensors", 200_000, 3),
            text(
                "text_encoder/model.safetensors.index.json",
                r#"{"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}"#,
            ),
            text("tokenizer/added_tokens.json", "{}"),
            text(
                "tokenizer/special_tokens_map.json",
                r#"{"eos_token": "</s>"}"#,
            ),
            lfs("tokenizer/spiece.model", 20_000, 4),
            text(
                "tokenizer/tokenizer_config.json",
                r#"{"model_max_length": 226}"#,
            ),
            text("transformer/config.json", r#"{"num_layers": 42}"#),
            lfs(
                "transformer/diffusion_pytorch_model.safetensors",
                700_000,
                5,
            ),
            text("vae/config.json", r#"{"latent_channels": 16}"#),
            lfs("vae/diffusion_pytorch_model.safetensors", 250_000, 6),
        ],
    }
}

/// The VOID checkpoints' repository.
pub fn void_repo() -> HubRepo {
    HubRepo {
        id: VOID.into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        files: vec![
            text(".gitattributes", "*.safetensors filter=lfs\n"),
            text("README.md", "# VOID\n"),
            lfs("void_pass1.safetensors", 400_000, 7),
            lfs("void_pass2.safetensors", 350_000, 8),
        ],
    }
}

/// The base-model files void downloads, as paths in the download folder.
pub const EXPECTED_BASE: [&str; 13] = [
    "model_index.json",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json",
    "text_encoder/model-00001-of-00002.safetensors",
    "text_encoder/model-00002-of-00002.safetensors",
    "text_encoder/model.safetensors.index.json",
    "tokenizer/added_tokens.json",
    "tokenizer/special_tokens_map.json",
    "tokenizer/spiece.model",
    "tokenizer/tokenizer_config.json",
    "transformer/config.json",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A parsed request head.
struct Request {
    path: String,
    query: String,
    headers: HashMap<String, String>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Request {
        path,
        query,
        headers,
    })
}

/// An answer to write.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes, then close.
    cut: Option<usize>,
}

impl Answer {
    fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            cut: None,
        }
    }

    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        Self::new(status, format!(r#"{{"error":"{message}"}}"#))
            .header("X-Error-Code", code)
            .header("Content-Type", "application/json")
    }
}

fn handle(mut stream: TcpStream, server: &'static str, state: &Mutex<State>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let answer = {
        let mut state = state.lock().unwrap();
        route(&request, server, &mut state)
    };
    let sent = answer
        .cut
        .unwrap_or(answer.body.len())
        .min(answer.body.len());
    state.lock().unwrap().log.push(Logged {
        server,
        path: request.path.clone(),
        range: request.headers.get("range").cloned(),
        authorization: request.headers.get("authorization").cloned(),
        status: answer.status,
        body_bytes: sent,
    });
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (k, v) in &answer.headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n";
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&answer.body[..sent]);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// Takes one use of the fault for `key`, if any is left.
fn take_fault(state: &mut State, key: &str) -> Option<Fault> {
    let (fault, left) = state.faults.get_mut(key)?;
    if *left == 0 {
        return None;
    }
    *left -= 1;
    Some(*fault)
}

fn route(request: &Request, server: &str, state: &mut State) -> Answer {
    if server == "cdn" {
        let sha = request.path.trim_start_matches("/blobs/");
        let file = state
            .repos
            .iter()
            .flat_map(|r| &r.files)
            .find(|f| f.lfs && f.sha256() == sha)
            .cloned();
        return match file {
            Some(file) => serve(request, &file, state),
            None => Answer::new(404, "no such blob"),
        };
    }
    let path = request.path.trim_start_matches('/');
    if let Some(rest) = path.strip_prefix("api/models/") {
        return listing(rest, &request.query, state);
    }
    // {owner}/{name}/resolve/{rev}/{path...}
    let parts: Vec<&str> = path.splitn(5, '/').collect();
    if parts.len() == 5 && parts[2] == "resolve" {
        let repo_id = format!("{}/{}", parts[0], parts[1]);
        let Some(repo) = state.repos.iter().find(|r| r.id == repo_id).cloned() else {
            return Answer::error(404, "RepoNotFound", "Repository not found");
        };
        if parts[3] != "main" && parts[3] != repo.commit {
            return Answer::error(404, "RevisionNotFound", "Invalid rev id");
        }
        let Some(file) = repo.files.iter().find(|f| f.path == parts[4]).cloned() else {
            return Answer::error(404, "EntryNotFound", "Entry not found");
        };
        if file.lfs {
            // Status faults hit the Hub; the others the CDN, which sends the bytes.
            if let Some((Fault::Status(_), _)) = state.faults.get(&file.path)
                && let Some(Fault::Status(code)) = take_fault(state, &file.path)
            {
                return Answer::new(code, "");
            }
            return Answer::new(302, "")
                .header("Location", format!("{}/blobs/{}", state.cdn, file.sha256()))
                .header("X-Repo-Commit", repo.commit.clone())
                .header("X-Linked-Size", file.content.len().to_string())
                .header("X-Linked-Etag", format!("\"{}\"", file.sha256()));
        }
        return serve(request, &file, state).header("X-Repo-Commit", repo.commit);
    }
    Answer::new(404, "not found")
}

fn listing(rest: &str, query: &str, state: &mut State) -> Answer {
    // {owner}/{name}/revision/{rev}
    let parts: Vec<&str> = rest.splitn(4, '/').collect();
    if parts.len() != 4 || parts[2] != "revision" {
        return Answer::new(404, "not found");
    }
    let repo_id = format!("{}/{}", parts[0], parts[1]);
    if let Some(Fault::Status(code)) = take_fault(state, &format!("api:{repo_id}")) {
        return Answer::new(code, "");
    }
    let Some(repo) = state.repos.iter().find(|r| r.id == repo_id) else {
        return Answer::error(404, "RepoNotFound", "Repository not found");
    };
    if parts[3] != "main" && parts[3] != repo.commit {
        return Answer::error(404, "RevisionNotFound", "Invalid rev id: nope");
    }
    let blobs = query.split('&').any(|kv| kv == "blobs=true");
    let siblings: Vec<String> = repo
        .files
        .iter()
        .map(|f| {
            if !blobs {
                return format!(r#"{{"rfilename":"{}"}}"#, f.path);
            }
            let lfs = if f.lfs {
                format!(
                    r#","lfs":{{"sha256":"{}","size":{},"pointerSize":134}}"#,
                    f.sha256(),
                    f.content.len()
                )
            } else {
                String::new()
            };
            let blob_id = if f.lfs {
                "1111111111111111111111111111111111111111".to_string()
            } else {
                f.git_sha1()
            };
            format!(
                r#"{{"rfilename":"{}","blobId":"{blob_id}","size":{}{lfs}}}"#,
                f.path,
                f.content.len()
            )
        })
        .collect();
    let body = format!(
        r#"{{"_id":"x","id":"{}","sha":"{}","private":false,"siblings":[{}]}}"#,
        repo.id,
        repo.commit,
        siblings.join(",")
    );
    Answer::new(200, body).header("Content-Type", "application/json")
}

/// A file's bytes, with `Range` and faults.
fn serve(request: &Request, file: &HubFile, state: &mut State) -> Answer {
    let mut content = file.content.clone();
    let mut range = request.headers.get("range").cloned();
    let mut cut = None;
    match take_fault(state, &file.path) {
        Some(Fault::Status(code)) => return Answer::new(code, ""),
        Some(Fault::Corrupt) => {
            let mid = content.len() / 2;
            content[mid] ^= 0xff;
        }
        Some(Fault::IgnoreRange) => range = None,
        Some(Fault::DropAfter(n)) => cut = Some(n),
        None => {}
    }
    let len = content.len();
    let mut answer = match range.and_then(|r| {
        r.strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse::<usize>()
            .ok()
    }) {
        Some(start) if start >= len => {
            Answer::new(416, "").header("Content-Range", format!("bytes */{len}"))
        }
        Some(start) => Answer::new(206, content[start..].to_vec())
            .header("Content-Range", format!("bytes {start}-{}/{len}", len - 1)),
        None => Answer::new(200, content),
    };
    answer.cut = cut;
    answer.header("Accept-Ranges", "bytes")
}
