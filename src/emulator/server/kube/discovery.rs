//! Discovery: `/version`, `/api`, `/apis` and the resource lists of `v1`, `apps/v1` and
//! `metrics.k8s.io/v1beta1`. Classic (unaggregated) discovery only: kubectl asks for the
//! aggregated `apidiscovery.k8s.io/v2` form first and falls back when the answer's content type
//! is plain `application/json`.

use hyper::{Method, Response};
use serde_json::{Value, json};

use super::Call;
use super::objects::{self, ApiError};
use crate::emulator::server::http::Body;

fn only_get(call: &Call) -> Result<(), ApiError> {
    match call.method {
        Method::GET => Ok(()),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

pub fn version(call: &Call) -> Result<Response<Body>, ApiError> {
    only_get(call)?;
    Ok(objects::ok(&json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0+ctl-embedded",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })))
}

pub fn core_versions(call: &Call) -> Result<Response<Body>, ApiError> {
    only_get(call)?;
    Ok(objects::ok(&json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [],
    })))
}

/// The API groups besides the core group.
const GROUPS: [(&str, &str); 2] = [("apps", "v1"), ("metrics.k8s.io", "v1beta1")];

pub fn groups(call: &Call) -> Result<Response<Body>, ApiError> {
    only_get(call)?;
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|&(name, version)| {
            let gv = json!({"groupVersion": format!("{name}/{version}"), "version": version});
            json!({"name": name, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    Ok(objects::ok(&json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})))
}

/// One resource entry of an APIResourceList.
fn resource(name: &str, singular: &str, kind: &str, verbs: &[&str], short: &[&str]) -> Value {
    let mut entry = json!({
        "name": name,
        "singularName": singular,
        "namespaced": true,
        "kind": kind,
        "verbs": verbs,
    });
    if !short.is_empty() {
        entry["shortNames"] = json!(short);
        entry["categories"] = json!(["all"]);
    }
    entry
}

pub fn resources(call: &Call, group_version: &str) -> Result<Response<Body>, ApiError> {
    only_get(call)?;
    let list = match group_version {
        "v1" => {
            let mut namespaces =
                resource("namespaces", "namespace", "Namespace", &["get", "list"], &[]);
            namespaces["namespaced"] = json!(false);
            namespaces["shortNames"] = json!(["ns"]);
            vec![
                namespaces,
                resource("pods", "pod", "Pod", &["get", "list", "watch"], &["po"]),
                resource("pods/exec", "", "PodExecOptions", &["create", "get"], &[]),
            ]
        }
        "apps/v1" => {
            let mut scale =
                resource("deployments/scale", "", "Scale", &["get", "patch", "update"], &[]);
            scale["group"] = json!("autoscaling");
            scale["version"] = json!("v1");
            vec![
                resource(
                    "deployments",
                    "deployment",
                    "Deployment",
                    &["get", "list", "patch", "update", "watch"],
                    &["deploy"],
                ),
                scale,
            ]
        }
        "metrics.k8s.io/v1beta1" => {
            vec![resource("pods", "", "PodMetrics", &["get", "list"], &[])]
        }
        _ => {
            return Err(ApiError::NotFound { kind: String::new(), name: group_version.into() });
        }
    };
    Ok(objects::ok(&json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": list,
    })))
}
