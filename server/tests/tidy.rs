//! Tidy: the crate graph is the architecture, so a forbidden dependency edge fails a test.
//!
//! - `strata-storage` is the log engine: no HTTP, AWS, JSON, serde or sockets.
//! - `strata-protocol` is wire formats only: no tokio, no I/O.
//!
//! Only the direct, normal dependencies each package declares are checked, as listed by
//! `cargo metadata --no-deps`; that is where a forbidden edge starts.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// A dependency `package` may not have.
struct Forbidden {
    /// The dependency's package name, or a prefix ending in `-`.
    name: &'static str,
    /// Only forbidden when one of these features is enabled; empty means always.
    features: &'static [&'static str],
}

const fn always(name: &'static str) -> Forbidden {
    Forbidden {
        name,
        features: &[],
    }
}

const STORAGE_FORBIDDEN: &[Forbidden] = &[
    always("hyper"),
    always("axum"),
    always("serde"),
    always("serde_json"),
    always("reqwest"),
    always("aws-"),
    // Sockets; "full" includes "net".
    Forbidden {
        name: "tokio",
        features: &["net", "full"],
    },
];

const PROTOCOL_FORBIDDEN: &[Forbidden] = &[always("tokio")];

/// The packages of this workspace, from `cargo metadata`.
fn workspace_packages() -> Vec<Value> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let workspace_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(&workspace_root)
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    metadata["packages"]
        .as_array()
        .expect("packages array")
        .clone()
}

/// Every forbidden normal dependency of `package`, as readable lines.
fn violations(packages: &[Value], package: &str, forbidden: &[Forbidden]) -> Vec<String> {
    let found = packages
        .iter()
        .find(|candidate| candidate["name"] == package)
        .unwrap_or_else(|| panic!("package {package} is not in the workspace"));
    let dependencies = found["dependencies"]
        .as_array()
        .expect("dependencies array");
    let mut lines = Vec::new();
    for dependency in dependencies {
        // `kind` is null for normal dependencies, "dev" or "build" otherwise.
        if !dependency["kind"].is_null() {
            continue;
        }
        let name = dependency["name"].as_str().expect("dependency name");
        let features: Vec<&str> = dependency["features"]
            .as_array()
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for rule in forbidden {
            let name_matches = if rule.name.ends_with('-') {
                name.starts_with(rule.name)
            } else {
                name == rule.name
            };
            if !name_matches {
                continue;
            }
            if rule.features.is_empty() {
                lines.push(format!("{package} depends on {name}"));
            } else if let Some(feature) = rule
                .features
                .iter()
                .find(|feature| features.contains(feature))
            {
                lines.push(format!(
                    "{package} depends on {name} with feature \"{feature}\""
                ));
            }
        }
    }
    lines
}

#[test]
fn storage_and_protocol_have_no_forbidden_dependencies() {
    let packages = workspace_packages();
    let mut found = violations(&packages, "strata-storage", STORAGE_FORBIDDEN);
    found.extend(violations(&packages, "strata-protocol", PROTOCOL_FORBIDDEN));
    assert!(
        found.is_empty(),
        "forbidden dependency edges (see the crate rules in ARCHITECTURE.md):\n  {}",
        found.join("\n  ")
    );
}

/// The checker itself catches what it should, so the test above cannot pass vacuously.
#[test]
fn checker_flags_forbidden_edges_and_ignores_allowed_ones() {
    let packages = vec![serde_json::json!({
        "name": "strata-storage",
        "dependencies": [
            { "name": "tokio", "kind": null, "features": ["sync", "net"] },
            { "name": "aws-sdk-s3", "kind": null, "features": [] },
            { "name": "serde_json", "kind": "dev", "features": [] },
            { "name": "bytes", "kind": null, "features": [] },
        ],
    })];
    let found = violations(&packages, "strata-storage", STORAGE_FORBIDDEN);
    assert_eq!(
        found,
        [
            "strata-storage depends on tokio with feature \"net\"",
            "strata-storage depends on aws-sdk-s3",
        ]
    );
}
