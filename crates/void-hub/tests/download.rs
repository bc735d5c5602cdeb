//! `void_hub::download` and `check_offline` against a local Hub: the layout, skipping what is
//! there, resuming with `Range`, retries, refusing corrupt files, and clear errors.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

#[path = "support/hub_server.rs"]
mod hub_server;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use hub_server::{BASE, EXPECTED_BASE, Fault, HubServer, VOID, base_repo, void_repo};
use void_hub::{
    BASE_DIR_NAME, Error, Event, Hub, HubConfig, ProblemKind, RECORD_FILE, Request, RetryPolicy,
    Summary, check_offline, download, part_path, verify_present,
};

/// Retries that wait milliseconds, not seconds.
fn quick(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

fn hub(server: &HubServer, attempts: u32) -> Hub {
    Hub::new(HubConfig {
        retry: quick(attempts),
        ..HubConfig::new(&server.endpoint)
    })
}

fn server() -> HubServer {
    HubServer::start(vec![base_repo(), void_repo()])
}

/// Runs a download; returns its result and the events, as debug strings.
fn run(hub: &Hub, request: &Request) -> (void_hub::Result<Summary>, Vec<String>) {
    let mut events = Vec::new();
    let result = download(hub, request, &mut |e: Event<'_>| {
        // Progress events are many; keep the others and the last progress of each file.
        if !matches!(
            e,
            Event::Progress { .. } | Event::Checking { .. } | Event::Resuming { .. }
        ) {
            events.push(format!("{e:?}"));
        } else if let Event::Resuming { done, have, .. } = e
            && done == have
        {
            events.push(format!("{e:?}"));
        }
    });
    (result, events)
}

/// Every file under `dir`, relative, `/`-separated.
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn expected_tree(pass2: bool) -> BTreeSet<String> {
    let mut files: BTreeSet<String> = EXPECTED_BASE
        .iter()
        .map(|p| format!("{BASE_DIR_NAME}/{p}"))
        .collect();
    files.insert("void_pass1.safetensors".into());
    if pass2 {
        files.insert("void_pass2.safetensors".into());
    }
    files.insert(RECORD_FILE.into());
    files
}

#[test]
fn a_full_download_gives_the_reference_layout_without_transformer_weights() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let request = Request::new(tmp.path());
    let (result, _) = run(&hub(&server, 3), &request);
    let summary = result.unwrap();

    assert_eq!(tree(tmp.path()), expected_tree(true));
    let (base, void) = (base_repo(), void_repo());
    for p in EXPECTED_BASE {
        let on_disk = fs::read(tmp.path().join(BASE_DIR_NAME).join(p)).unwrap();
        assert!(on_disk == base.file(p).content, "{p} differs");
    }
    for p in ["void_pass1.safetensors", "void_pass2.safetensors"] {
        assert!(fs::read(tmp.path().join(p)).unwrap() == void.file(p).content);
    }
    let total: u64 = EXPECTED_BASE
        .iter()
        .map(|p| base.file(p).content.len() as u64)
        .sum::<u64>()
        + 750_000;
    assert_eq!(
        summary,
        Summary {
            files: 15,
            present: 0,
            downloaded: 15,
            received_bytes: total,
            bytes: total,
            commits: vec![
                (BASE.into(), base.commit.clone()),
                (VOID.into(), void.commit.clone())
            ],
        }
    );
    // Nothing else was fetched: not the transformer's weights, not the README or images.
    let log = server.log();
    assert!(
        !log.iter().any(|l| l.path.contains("transformer/diffusion")
            || l.path.contains("README")
            || l.path.contains("asset/")),
        "{log:#?}"
    );
    assert!(
        server
            .file_requests("transformer/diffusion_pytorch_model.safetensors")
            .is_empty()
    );
    // LFS files came through the redirect to the CDN, by the listed commit.
    let shard = server.file_requests("text_encoder/model-00001-of-00002.safetensors");
    assert_eq!(shard.len(), 2, "{shard:#?}");
    assert_eq!((shard[0].server, shard[0].status), ("hub", 302));
    assert!(
        shard[0]
            .path
            .contains(&format!("/resolve/{}/", base.commit))
    );
    assert_eq!((shard[1].server, shard[1].status), ("cdn", 200));
    verify_present(&request.location()).unwrap();
}

#[test]
fn a_second_run_downloads_nothing() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let request = Request::new(tmp.path());
    run(&hub(&server, 3), &request).0.unwrap();
    server.clear_log();

    let (result, events) = run(&hub(&server, 3), &request);
    let summary = result.unwrap();
    assert_eq!(
        (summary.present, summary.downloaded, summary.received_bytes),
        (15, 0, 0)
    );
    let log = server.log();
    assert_eq!(log.len(), 2, "only the two listings: {log:#?}");
    assert!(log.iter().all(|l| l.path.starts_with("/api/models/")));
    assert!(
        events
            .iter()
            .any(|e| e.contains("Planned { files: 15, present: 15, fetch: 0"))
    );
}

#[test]
fn offline_passes_after_a_download_and_names_what_is_missing() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let request = Request::new(tmp.path());
    run(&hub(&server, 3), &request).0.unwrap();
    drop(server); // offline means no server at all

    let report = check_offline(&request).unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.files, 15);
    assert_eq!(report.recorded.len(), 2);
    assert_eq!(report.recorded[0].repo, BASE);

    let shard = tmp
        .path()
        .join(BASE_DIR_NAME)
        .join("text_encoder/model-00002-of-00002.safetensors");
    fs::remove_file(&shard).unwrap();
    let added = tmp
        .path()
        .join(BASE_DIR_NAME)
        .join("tokenizer/added_tokens.json");
    fs::write(&added, "{\"x\": 1}").unwrap();
    let report = check_offline(&request).unwrap();
    assert!(!report.is_complete());
    let problems: Vec<(String, ProblemKind)> = report
        .problems
        .iter()
        .map(|p| {
            let rel = p.path.strip_prefix(tmp.path()).unwrap();
            (rel.to_string_lossy().replace('\\', "/"), p.kind.clone())
        })
        .collect();
    assert_eq!(
        problems,
        [
            (
                format!("{BASE_DIR_NAME}/text_encoder/model-00002-of-00002.safetensors"),
                ProblemKind::Missing
            ),
            (
                format!("{BASE_DIR_NAME}/tokenizer/added_tokens.json"),
                ProblemKind::WrongSize {
                    expected: 2,
                    found: 8
                }
            ),
        ]
    );
    // verify_present checks presence only, and needs no record.
    let err = verify_present(&request.location()).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert!(
        err.to_string()
            .contains("model-00002-of-00002.safetensors: missing")
    );
}

#[test]
fn offline_without_a_record_checks_what_the_pipeline_reads() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let request = Request::new(tmp.path());
    run(&hub(&server, 3), &request).0.unwrap();
    fs::remove_file(tmp.path().join(RECORD_FILE)).unwrap();
    let report = check_offline(&request).unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert!(report.recorded.is_empty());
    assert_eq!(report.files, 12);

    let empty = tempfile::tempdir().unwrap();
    let report = check_offline(&Request::new(empty.path())).unwrap();
    assert_eq!(report.problems.len(), 10);
}

#[test]
fn a_dropped_connection_resumes_with_range_and_the_right_hash() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let path = "text_encoder/model-00001-of-00002.safetensors";
    server.fault(path, Fault::DropAfter(100_000), 1);
    let (result, events) = run(&hub(&server, 3), &Request::new(tmp.path()));
    result.unwrap();

    let cdn: Vec<_> = server
        .file_requests(path)
        .into_iter()
        .filter(|l| l.server == "cdn")
        .collect();
    assert_eq!(cdn.len(), 2, "{cdn:#?}");
    assert_eq!(
        (cdn[0].range.as_deref(), cdn[0].body_bytes),
        (None, 100_000)
    );
    assert_eq!(
        (cdn[1].range.as_deref(), cdn[1].status, cdn[1].body_bytes),
        (Some("bytes=100000-"), 206, 200_000)
    );
    let on_disk = fs::read(tmp.path().join(BASE_DIR_NAME).join(path)).unwrap();
    assert!(on_disk == base_repo().file(path).content);
    assert!(
        events.iter().any(|e| e.starts_with("Retrying")),
        "{events:#?}"
    );
}

#[test]
fn an_interrupted_run_resumes_from_its_part_file() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let request = Request::new(tmp.path());
    let file = tmp.path().join("void_pass1.safetensors");
    server.fault("void_pass1.safetensors", Fault::DropAfter(150_000), 1);

    // One attempt only: the run stops like a killed one, leaving the partial file.
    let (result, _) = run(&hub(&server, 1), &request);
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err}");
    assert!(err.to_string().contains("void_pass1.safetensors"), "{err}");
    assert!(!file.exists());
    assert_eq!(fs::metadata(part_path(&file)).unwrap().len(), 150_000);
    assert!(!check_offline(&request).unwrap().is_complete());

    server.clear_log();
    let (result, events) = run(&hub(&server, 3), &request);
    result.unwrap();
    let fetched = server.file_requests("void_pass1.safetensors");
    let cdn: Vec<_> = fetched.iter().filter(|l| l.server == "cdn").collect();
    assert_eq!(cdn.len(), 1, "{fetched:#?}");
    assert_eq!(cdn[0].range.as_deref(), Some("bytes=150000-"));
    assert_eq!(
        cdn[0].body_bytes, 250_000,
        "the first bytes were not sent again"
    );
    assert!(fs::read(&file).unwrap() == void_repo().file("void_pass1.safetensors").content);
    assert!(!part_path(&file).exists());
    assert!(
        events
            .iter()
            .any(|e| e.contains("Resuming") && e.contains("have: 150000")),
        "{events:#?}"
    );
    assert!(check_offline(&request).unwrap().is_complete());
}

#[test]
fn server_errors_are_retried() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    server.fault("vae/config.json", Fault::Status(500), 1);
    server.fault("void_pass2.safetensors", Fault::Status(503), 2);
    server.fault(&format!("api:{BASE}"), Fault::Status(502), 1);
    let (result, events) = run(&hub(&server, 3), &Request::new(tmp.path()));
    result.unwrap();
    let config = server.file_requests("vae/config.json");
    assert_eq!(
        config.iter().map(|l| l.status).collect::<Vec<_>>(),
        [500, 200]
    );
    let pass2 = server.file_requests("void_pass2.safetensors");
    assert_eq!(
        pass2.iter().map(|l| l.status).collect::<Vec<_>>(),
        [503, 503, 302, 200]
    );
    assert_eq!(
        events.iter().filter(|e| e.starts_with("Retrying")).count(),
        4
    );
}

#[test]
fn persistent_server_errors_give_up_with_the_url() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    server.fault("vae/config.json", Fault::Status(500), 10);
    let err = run(&hub(&server, 3), &Request::new(tmp.path()))
        .0
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("vae/config.json"), "{text}");
    assert!(
        text.contains("HTTP 500") && text.contains("3 attempts"),
        "{text}"
    );
    // Nothing arrived, so no empty partial file is left behind.
    let config = tmp.path().join(BASE_DIR_NAME).join("vae/config.json");
    assert!(!config.exists() && !part_path(&config).exists());
}

#[test]
fn a_corrupt_file_is_refused_and_deleted() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let path = "vae/diffusion_pytorch_model.safetensors";
    server.fault(path, Fault::Corrupt, 1);
    let err = run(&hub(&server, 3), &Request::new(tmp.path()))
        .0
        .unwrap_err();
    let text = err.to_string();
    let expected = base_repo().file(path).sha256();
    assert!(text.contains(path), "{text}");
    assert!(
        text.contains("sha256 mismatch") && text.contains(&expected),
        "{text}"
    );
    let dest = tmp.path().join(BASE_DIR_NAME).join(path);
    assert!(!dest.exists() && !part_path(&dest).exists());

    // Small files are checked too, against their git blob id.
    fs::remove_file(
        tmp.path()
            .join(BASE_DIR_NAME)
            .join("transformer/config.json"),
    )
    .unwrap();
    server.fault("transformer/config.json", Fault::Corrupt, 1);
    let text = run(&hub(&server, 3), &Request::new(tmp.path()))
        .0
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("transformer/config.json: git sha1 mismatch"),
        "{text}"
    );
    // A clean run then completes.
    run(&hub(&server, 3), &Request::new(tmp.path())).0.unwrap();
}

#[test]
fn unknown_repositories_and_revisions_are_named() {
    let server = HubServer::start(vec![base_repo()]);
    let tmp = tempfile::tempdir().unwrap();
    let err = run(&hub(&server, 3), &Request::new(tmp.path()))
        .0
        .unwrap_err();
    assert!(
        matches!(err, Error::RepoNotFound { status: 404, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("netflix/void-model: repository not found"),
        "{text}"
    );
    assert!(text.contains(&server.endpoint), "{text}");

    let request = Request {
        base_revision: "v9".into(),
        ..Request::new(tmp.path())
    };
    let err = run(&hub(&server, 3), &request).0.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{BASE}: no revision `v9` (a branch, tag or commit id)")
    );
    // Nothing was written but the (empty) folder.
    assert!(tree(tmp.path()).is_empty());
}

#[test]
fn a_server_that_ignores_range_restarts_the_file() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("void_pass2.safetensors");
    let content = void_repo().file("void_pass2.safetensors").content.clone();
    fs::write(part_path(&dest), &content[..1000]).unwrap();
    server.fault("void_pass2.safetensors", Fault::IgnoreRange, 1);
    let (result, events) = run(&hub(&server, 3), &Request::new(tmp.path()));
    result.unwrap();
    assert!(fs::read(&dest).unwrap() == content);
    assert!(
        events.iter().any(|e| e.contains("Restarting")),
        "{events:#?}"
    );
}

#[test]
fn files_already_there_are_verified_not_downloaded() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    // A folder set up by hand (as for the Python reference): right files, no record.
    let (base, void) = (base_repo(), void_repo());
    for p in EXPECTED_BASE {
        let dest = tmp.path().join(BASE_DIR_NAME).join(p);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(dest, &base.file(p).content).unwrap();
    }
    for p in ["void_pass1.safetensors", "void_pass2.safetensors"] {
        fs::write(tmp.path().join(p), &void.file(p).content).unwrap();
    }
    // ... but one file of the right size with other bytes.
    let mut wrong = void.file("void_pass2.safetensors").content.clone();
    wrong[7] ^= 1;
    fs::write(tmp.path().join("void_pass2.safetensors"), &wrong).unwrap();

    let (result, _) = run(&hub(&server, 3), &Request::new(tmp.path()));
    let summary = result.unwrap();
    assert_eq!((summary.present, summary.downloaded), (14, 1));
    let fetched: Vec<_> = server
        .log()
        .into_iter()
        .filter(|l| !l.path.starts_with("/api/"))
        .collect();
    assert!(
        fetched
            .iter()
            .all(|l| l.path.contains("void_pass2") || l.server == "cdn"),
        "{fetched:#?}"
    );
    assert!(
        fs::read(tmp.path().join("void_pass2.safetensors")).unwrap()
            == void.file("void_pass2.safetensors").content
    );
}

#[test]
fn pass2_can_be_left_out() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let request = Request {
        pass2: false,
        ..Request::new(tmp.path())
    };
    let summary = run(&hub(&server, 3), &request).0.unwrap();
    assert_eq!(summary.files, 14);
    assert_eq!(tree(tmp.path()), expected_tree(false));
    assert!(check_offline(&request).unwrap().is_complete());
    let with_pass2 = check_offline(&Request::new(tmp.path())).unwrap();
    assert_eq!(with_pass2.problems.len(), 1);
    assert!(
        with_pass2.problems[0]
            .path
            .ends_with("void_pass2.safetensors")
    );
}

#[test]
fn the_token_goes_to_the_hub_only() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::new(
        HubConfig {
            retry: quick(3),
            ..HubConfig::new(&server.endpoint)
        }
        .with_token(Some("hf_test".into())),
    );
    run(&hub, &Request::new(tmp.path())).0.unwrap();
    let log = server.log();
    for l in &log {
        let expected = (l.server == "hub").then_some("Bearer hf_test");
        assert_eq!(l.authorization.as_deref(), expected, "{l:?}");
    }
    assert!(log.iter().any(|l| l.server == "cdn"));
}

#[test]
fn refusals_say_what_to_do() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    // The Hub answers 401 for a repository that does not exist or is private.
    server.fault(&format!("api:{VOID}"), Fault::Status(401), 1);
    let err = run(&hub(&server, 3), &Request::new(tmp.path()))
        .0
        .unwrap_err();
    assert!(
        matches!(err, Error::RepoNotFound { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("set HF_TOKEN"), "{err}");
    // 403: gated, or a token without access.
    server.fault(&format!("api:{BASE}"), Fault::Status(403), 1);
    let err = run(&hub(&server, 3), &Request::new(tmp.path()))
        .0
        .unwrap_err();
    assert!(
        matches!(err, Error::AccessDenied { status: 403, .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with(BASE), "{err}");
}
