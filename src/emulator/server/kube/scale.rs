//! `deployments/{name}/scale` (autoscaling/v1 Scale: get, patch, put) and the patch formats
//! shared with the deployment itself: JSON merge patch, strategic merge patch (for the fields a
//! Deployment or Scale has, the same as a merge patch), JSON patch (RFC 6902) and server-side
//! apply YAML (treated as a merge: there is no field ownership here).

use std::sync::Arc;

use hyper::{Method, Response};
use serde_json::Value;

use super::objects::{self, ApiError};
use super::watch::Kind;
use super::{Api, Call, RequestBody};
use crate::emulator::server::http::Body;
use crate::emulator::topology::MAX_REPLICAS;

pub fn scale(
    api: &Arc<Api>,
    call: &Call,
    name: &str,
    body: RequestBody,
) -> Result<Response<Body>, ApiError> {
    let current = deployment(api, name)?;
    let current_scale = objects::scale(&current);
    if call.method == Method::GET {
        return Ok(objects::ok(&current_scale));
    }
    let wanted = wanted_replicas(call, &body, &current_scale, &current, "Scale.autoscaling", name)?;
    set_replicas(api, name, wanted)?;
    Ok(objects::ok(&objects::scale(&*deployment(api, name)?)))
}

/// The replicas a PATCH of `patchable` (the deployment or its Scale) or a PUT of a whole
/// object asks for; any other method is not allowed. `current` is the deployment, whose
/// resourceVersion a PUT must match.
pub fn wanted_replicas(
    call: &Call,
    body: &RequestBody,
    patchable: &Value,
    current: &Value,
    kind: &str,
    name: &str,
) -> Result<u32, ApiError> {
    match call.method {
        Method::PATCH => {
            let mut patched = patchable.clone();
            apply_patch(body, &mut patched)?;
            replicas(&patched, kind, name)
        }
        Method::PUT => {
            let object = parse_json(body)?;
            check_version(&object, current, name)?;
            replicas(&object, kind, name)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// The deployment object from the store, or 404.
pub fn deployment(api: &Arc<Api>, name: &str) -> Result<Arc<Value>, ApiError> {
    api.store
        .get(&api.live, Kind::Deployment, name)
        .ok_or_else(|| ApiError::NotFound { kind: "deployments.apps".into(), name: name.into() })
}

pub fn set_replicas(api: &Arc<Api>, name: &str, replicas: u32) -> Result<(), ApiError> {
    api.live
        .scale(name, replicas)
        .map_err(|_| ApiError::NotFound { kind: "deployments.apps".into(), name: name.into() })
}

/// A PUT carrying a resourceVersion must match the current one (optimistic concurrency).
pub fn check_version(object: &Value, current: &Value, name: &str) -> Result<(), ApiError> {
    let sent = object["metadata"]["resourceVersion"].as_str().unwrap_or("");
    let now = current["metadata"]["resourceVersion"].as_str().unwrap_or("");
    if !sent.is_empty() && sent != now {
        return Err(ApiError::Conflict { kind: "deployments.apps".into(), name: name.into() });
    }
    Ok(())
}

/// `spec.replicas` as a valid replica count.
pub fn replicas(object: &Value, kind: &str, name: &str) -> Result<u32, ApiError> {
    let invalid = |message: String| ApiError::Invalid {
        kind: kind.into(),
        name: name.into(),
        field: "spec.replicas".into(),
        message,
    };
    let value = &object["spec"]["replicas"];
    match value.as_i64() {
        Some(n) if n < 0 => {
            Err(invalid(format!("Invalid value: {n}: must be greater than or equal to 0")))
        }
        Some(n) if n > i64::from(MAX_REPLICAS) => Err(invalid(format!(
            "Invalid value: {n}: must be at most {MAX_REPLICAS} (the embedded cluster's maximum)"
        ))),
        Some(n) => Ok(n as u32),
        None => Err(invalid(format!("Invalid value: {value}: must be a whole number"))),
    }
}

pub fn parse_json(body: &RequestBody) -> Result<Value, ApiError> {
    serde_json::from_slice(&body.bytes)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))
}

/// Applies a patch body to `document` according to its content type.
pub fn apply_patch(body: &RequestBody, document: &mut Value) -> Result<(), ApiError> {
    let media_type = body.content_type.split(';').next().unwrap_or("").trim();
    match media_type {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let patch = parse_json(body)?;
            if !patch.is_object() {
                return Err(ApiError::BadRequest("a merge patch must be a JSON object".into()));
            }
            json_patch::merge(document, &patch);
        }
        "application/json-patch+json" => {
            let patch: json_patch::Patch = serde_json::from_slice(&body.bytes).map_err(|e| {
                ApiError::BadRequest(format!("the request body is not a JSON patch: {e}"))
            })?;
            json_patch::patch(document, &patch).map_err(|e| ApiError::Invalid {
                kind: "Patch".into(),
                name: String::new(),
                field: "patch".into(),
                message: e.to_string(),
            })?;
        }
        "application/apply-patch+yaml" => {
            let patch: Value = serde_yaml::from_slice(&body.bytes).map_err(|e| {
                ApiError::BadRequest(format!("the apply patch is not valid YAML: {e}"))
            })?;
            json_patch::merge(document, &patch);
        }
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got `{other}`)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Bytes;
    use serde_json::json;

    fn body(content_type: &str, text: &str) -> RequestBody {
        RequestBody { content_type: content_type.into(), bytes: Bytes::from(text.to_owned()) }
    }

    #[test]
    fn every_patch_type_sets_replicas() {
        let scale = json!({"spec": {"replicas": 1}, "status": {"replicas": 1}});
        for (ct, text) in [
            ("application/merge-patch+json", r#"{"spec":{"replicas":4}}"#),
            ("application/strategic-merge-patch+json; charset=utf-8", r#"{"spec":{"replicas":4}}"#),
            (
                "application/json-patch+json",
                r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
            ),
            ("application/apply-patch+yaml", "spec:\n  replicas: 4\n"),
        ] {
            let mut doc = scale.clone();
            apply_patch(&body(ct, text), &mut doc).unwrap();
            assert_eq!(replicas(&doc, "Scale", "x").unwrap(), 4, "{ct}");
        }
    }

    #[test]
    fn bad_patches_and_values_are_rejected() {
        let mut doc = json!({"spec": {"replicas": 1}});
        let unknown = apply_patch(&body("text/plain", "x"), &mut doc).unwrap_err();
        assert!(matches!(unknown, ApiError::UnsupportedMediaType(_)));
        let failed_test = body(
            "application/json-patch+json",
            r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
        );
        assert!(apply_patch(&failed_test, &mut doc).is_err());
        let negative = json!({"spec": {"replicas": -1}});
        assert!(matches!(replicas(&negative, "Scale", "x"), Err(ApiError::Invalid { .. })));
        let huge = json!({"spec": {"replicas": MAX_REPLICAS + 1}});
        assert!(matches!(replicas(&huge, "Scale", "x"), Err(ApiError::Invalid { .. })));
    }
}
