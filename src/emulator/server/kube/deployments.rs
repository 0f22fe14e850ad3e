//! Deployments (`/apis/apps/v1/[namespaces/{ns}/]deployments[/{name}]`): list, get, watch,
//! kubectl's table, and PATCH / PUT of the deployment itself, of which only `spec.replicas`
//! takes effect (the emulated pod template is fixed).

use std::sync::Arc;

use hyper::{Method, Response};
use serde_json::{Value, json};

use super::objects::{self, ApiError};
use super::pods::{list_or_watch, rv_of};
use super::scale::{deployment, set_replicas, wanted_replicas};
use super::watch::{self, Kind};
use super::{Api, Call, RequestBody};
use crate::emulator::server::http::Body;

pub async fn collection(
    api: &Arc<Api>,
    call: &Call,
    namespace: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    list_or_watch(api, call, namespace, Kind::Deployment, "DeploymentList", "apps/v1", table)
}

pub fn one(
    api: &Arc<Api>,
    call: &Call,
    name: &str,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let current = deployment(api, name)?;
    match call.method {
        Method::GET if call.table => {
            return Ok(objects::ok(&table(&[&current], rv_of(&current))));
        }
        Method::GET => return Ok(objects::ok(&current)),
        _ => {}
    }
    let wanted = wanted_replicas(call, &body, &current, &current, "Deployment.apps", name)?;
    set_replicas(api, name, wanted)?;
    Ok(objects::ok(&*deployment(api, name)?))
}

/// kubectl's deployment columns: NAME READY UP-TO-DATE AVAILABLE AGE.
fn table(deployments: &[&Value], rv: u64) -> Value {
    let columns = [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Up-to-date", "integer", 0),
        ("Available", "integer", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ];
    objects::table(&columns, deployments, rv, |d| {
        let status = &d["status"];
        let count = |key: &str| status[key].as_u64().unwrap_or(0);
        let containers = d["spec"]["template"]["spec"]["containers"].as_array();
        let join = |key: &str| {
            containers
                .map(|cs| cs.iter().filter_map(|c| c[key].as_str()).collect::<Vec<_>>().join(","))
                .unwrap_or_default()
        };
        vec![
            d["metadata"]["name"].clone(),
            json!(format!("{}/{}", count("readyReplicas"), d["spec"]["replicas"])),
            json!(count("updatedReplicas")),
            json!(count("availableReplicas")),
            json!(objects::human_duration(watch::age(d, "/metadata/creationTimestamp"))),
            json!(join("name")),
            json!(join("image")),
            json!(format!("app={}", d["metadata"]["name"].as_str().unwrap_or(""))),
        ]
    })
}
