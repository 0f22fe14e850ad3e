//! The object store behind lists, resourceVersions and watches, like the API server's watch
//! cache: on every cluster change (`LiveState::generation`) it rebuilds the pod and deployment
//! objects from a snapshot, keeps the ones that really changed with a new resourceVersion, and
//! logs ADDED / MODIFIED / DELETED changes in a bounded log that watches replay from the
//! resourceVersion they ask for (410 Expired when it is older than the log).
//!
//! resourceVersion is `generation + 1` (so that it is never "0", which means "any" to clients).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use futures::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame};
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::objects::{self, ApiError, Clock, DeploymentView, PodHistory};
use super::selector::Selectors;
use super::{Api, Call};
use crate::emulator::live::LiveCluster;
use crate::emulator::server::http::Body;

/// Changes kept for watches to resume from.
const LOG_CAPACITY: usize = 4096;
/// Watches without `timeoutSeconds` end after this long (the API server picks 30-60 min).
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);
/// Longer timeouts are cut to this (and never overflow a deadline).
const MAX_WATCH_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// How often a watch that allows bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pod,
    Deployment,
}

impl Kind {
    fn type_meta(self) -> (&'static str, &'static str) {
        match self {
            Kind::Pod => ("Pod", "v1"),
            Kind::Deployment => ("Deployment", "apps/v1"),
        }
    }
}

struct Entry {
    /// The object without its resourceVersion, for change detection.
    content: Value,
    object: Arc<Value>,
}

struct Change {
    rv: u64,
    kind: Kind,
    old: Option<Arc<Value>>,
    new: Arc<Value>,
    deleted: bool,
}

#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Cluster generation of the last sync.
    synced: Option<u64>,
    rv: u64,
    /// Every change after this resourceVersion is in `log`.
    floor: u64,
    pods: BTreeMap<String, Entry>,
    deployments: BTreeMap<String, Entry>,
    history: HashMap<String, (PodHistory, bool)>,
    /// Per deployment: spec replicas and metadata.generation.
    generations: HashMap<String, (u32, u64)>,
    templates: HashMap<String, Value>,
    log: VecDeque<Change>,
}

impl Store {
    /// Brings the store up to the cluster's current state and returns it locked.
    fn sync(&self, live: &LiveCluster) -> MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let state = live.lock();
        if inner.synced == Some(state.generation) {
            return inner;
        }
        let generation = state.generation;
        let snapshot = state.cluster.snapshot();
        drop(state);
        let clock = Clock { epoch_unix: live.unix_time(0.0) };
        inner.apply(generation, &snapshot, clock);
        inner
    }

    /// The current resourceVersion and the objects of `kind` that match.
    pub fn list(
        &self,
        live: &LiveCluster,
        kind: Kind,
        selectors: &Selectors,
    ) -> (u64, Vec<Arc<Value>>) {
        let inner = self.sync(live);
        let objects = inner
            .objects(kind)
            .values()
            .map(|e| e.object.clone())
            .filter(|o| selectors.matches(o))
            .collect();
        (inner.rv, objects)
    }

    pub fn get(&self, live: &LiveCluster, kind: Kind, name: &str) -> Option<Arc<Value>> {
        self.sync(live).objects(kind).get(name).map(|e| e.object.clone())
    }

    /// The changes of `kind` after `since`, with the resourceVersion they bring the caller to;
    /// `Err(floor)` when `since` is older than the log.
    fn changes_since(
        &self,
        live: &LiveCluster,
        kind: Kind,
        since: u64,
    ) -> Result<(u64, Vec<Logged>), u64> {
        let inner = self.sync(live);
        if since < inner.floor {
            return Err(inner.floor);
        }
        let changes = inner
            .log
            .iter()
            .filter(|c| c.rv > since && c.kind == kind)
            .map(|c| (c.old.clone(), c.new.clone(), c.deleted))
            .collect();
        Ok((inner.rv.max(since), changes))
    }
}

impl Inner {
    fn objects(&self, kind: Kind) -> &BTreeMap<String, Entry> {
        match kind {
            Kind::Pod => &self.pods,
            Kind::Deployment => &self.deployments,
        }
    }

    fn apply(
        &mut self,
        generation: u64,
        snapshot: &crate::emulator::ClusterSnapshot,
        clock: Clock,
    ) {
        let first = self.synced.is_none();
        self.synced = Some(generation);
        self.rv = generation + 1;
        if first {
            self.floor = self.rv;
        }
        let namespace = snapshot.namespace.as_str();
        let mut pods = BTreeMap::new();
        for p in &snapshot.pods {
            let (history, was_ready) = self.history.entry(p.name.to_string()).or_insert((
                PodHistory {
                    ready_since: if p.ready { p.container_start_time } else { p.start_time },
                    deleting_since: None,
                },
                p.ready,
            ));
            if *was_ready != p.ready {
                history.ready_since = snapshot.time;
                *was_ready = p.ready;
            }
            if p.terminating && history.deleting_since.is_none() {
                history.deleting_since = Some(snapshot.time);
            }
            let content = objects::pod(p, namespace, *history, clock);
            self.templates
                .entry(p.deployment.to_string())
                .or_insert_with(|| content["spec"]["containers"].clone());
            pods.insert(p.name.to_string(), content);
        }
        self.history.retain(|name, _| pods.contains_key(name));
        let mut deployments = BTreeMap::new();
        for d in &snapshot.deployments {
            let (spec, generation) =
                self.generations.entry(d.name.to_string()).or_insert((d.spec_replicas, 1));
            if *spec != d.spec_replicas {
                *spec = d.spec_replicas;
                *generation += 1;
            }
            let view = DeploymentView {
                name: &d.name,
                namespace,
                spec_replicas: d.spec_replicas,
                replicas: d.replicas,
                ready_replicas: d.ready_replicas,
                generation: *generation,
                created: clock.at(0.0),
                template: self.templates.get(&*d.name).cloned(),
            };
            deployments.insert(d.name.to_string(), objects::deployment(&view));
        }
        self.merge(Kind::Pod, pods, first);
        self.merge(Kind::Deployment, deployments, first);
        while self.log.len() > LOG_CAPACITY {
            if let Some(change) = self.log.pop_front() {
                self.floor = change.rv;
            }
        }
    }

    /// Replaces the objects of `kind` with `fresh`, logging what changed.
    fn merge(&mut self, kind: Kind, fresh: BTreeMap<String, Value>, first: bool) {
        let rv = self.rv;
        let with_rv = |mut object: Value| {
            object["metadata"]["resourceVersion"] = json!(rv.to_string());
            Arc::new(object)
        };
        let mut old = std::mem::take(match kind {
            Kind::Pod => &mut self.pods,
            Kind::Deployment => &mut self.deployments,
        });
        let mut next = BTreeMap::new();
        for (name, content) in fresh {
            let entry = match old.remove(&name) {
                Some(previous) if previous.content == content => previous,
                previous => {
                    let object = with_rv(content.clone());
                    if !first {
                        self.log.push_back(Change {
                            rv,
                            kind,
                            old: previous.map(|p| p.object),
                            new: object.clone(),
                            deleted: false,
                        });
                    }
                    Entry { content, object }
                }
            };
            next.insert(name, entry);
        }
        for (_, gone) in old {
            let object = with_rv(gone.content);
            self.log.push_back(Change { rv, kind, old: None, new: object, deleted: true });
        }
        match kind {
            Kind::Pod => self.pods = next,
            Kind::Deployment => self.deployments = next,
        }
    }
}

/// A logged change as a watch sees it: the object before (if any), after, and whether deleted.
type Logged = (Option<Arc<Value>>, Arc<Value>, bool);

/// Turns objects into the Table kubectl asked for.
pub type TableFn = fn(&[&Value], u64) -> Value;

/// Where a watch starts.
enum Start {
    /// Synthetic ADDED events for what exists now, then changes.
    Now,
    After(u64),
}

/// Serves `?watch=true` on a collection: newline-delimited JSON events until `timeoutSeconds`.
pub fn watch(
    api: &Arc<Api>,
    call: &Call,
    kind: Kind,
    selectors: Selectors,
    table: Option<TableFn>,
) -> Result<Response<Body>, ApiError> {
    let query = &call.query;
    let start = match query.get("resourceVersion").unwrap_or("") {
        "" | "0" => Start::Now,
        rv => Start::After(rv.parse().map_err(|_| {
            ApiError::BadRequest(format!("invalid resourceVersion `{rv}`: expected a number"))
        })?),
    };
    let timeout = match query.get("timeoutSeconds") {
        Some(t) => Duration::from_secs(t.parse().map_err(|_| {
            ApiError::BadRequest(format!("invalid timeoutSeconds `{t}`: expected whole seconds"))
        })?),
        None => DEFAULT_WATCH_TIMEOUT,
    }
    .min(MAX_WATCH_TIMEOUT);
    let options = Options {
        kind,
        selectors,
        table,
        start,
        timeout,
        bookmarks: query.flag("allowWatchBookmarks"),
        initial_end: query.flag("sendInitialEvents"),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(run(api.clone(), options, tx));
    let body = StreamBody::new(stream::unfold(rx, |mut rx| async move {
        let bytes = rx.recv().await?;
        Some((Ok::<_, std::io::Error>(Frame::data(bytes)), rx))
    }));
    let mut response = Response::new(BodyExt::boxed(body));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    Ok(response)
}

struct Options {
    kind: Kind,
    selectors: Selectors,
    table: Option<TableFn>,
    start: Start,
    timeout: Duration,
    bookmarks: bool,
    initial_end: bool,
}

async fn run(api: Arc<Api>, options: Options, tx: mpsc::Sender<Bytes>) {
    let deadline = tokio::time::Instant::now() + options.timeout;
    let mut changes = api.live.subscribe();
    let send = |event: &'static str, object: &Value, rv: u64| {
        let object = match options.table {
            Some(table) if event != "BOOKMARK" && event != "ERROR" => table(&[object], rv),
            _ => object.clone(),
        };
        let mut line =
            serde_json::to_vec(&json!({"type": event, "object": object})).unwrap_or_default();
        line.push(b'\n');
        let tx = tx.clone();
        async move { tx.send(Bytes::from(line)).await.is_ok() }
    };
    let (kind_name, api_version) = options.kind.type_meta();
    let bookmark = |rv: u64, initial_end: bool| {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": kind_name, "apiVersion": api_version, "metadata": metadata})
    };
    let mut last = match options.start {
        Start::After(rv) => rv,
        Start::Now => {
            let (rv, objects) = api.store.list(&api.live, options.kind, &options.selectors);
            for object in &objects {
                if !send("ADDED", object, rv).await {
                    return;
                }
            }
            if options.initial_end && !send("BOOKMARK", &bookmark(rv, true), rv).await {
                return;
            }
            rv
        }
    };
    let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
    ticker.tick().await;
    loop {
        match api.store.changes_since(&api.live, options.kind, last) {
            Err(floor) => {
                let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure", "reason": "Expired", "code": 410,
                    "message": format!("too old resource version: {last} ({floor})")});
                send("ERROR", &status, last).await;
                return;
            }
            Ok((rv, list)) => {
                for (old, new, deleted) in list {
                    let matched_new = options.selectors.matches(&new);
                    let matched_old = old.as_ref().is_some_and(|o| options.selectors.matches(o));
                    let event = match (deleted, old.is_some(), matched_old, matched_new) {
                        (true, _, _, true) => "DELETED",
                        (true, ..) => continue,
                        (false, false, _, true) => "ADDED",
                        (false, true, false, true) => "ADDED",
                        (false, true, true, true) => "MODIFIED",
                        (false, true, true, false) => "DELETED",
                        _ => continue,
                    };
                    if !send(event, &new, rv).await {
                        return;
                    }
                }
                last = rv;
            }
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = ticker.tick(), if options.bookmarks => {
                if !send("BOOKMARK", &bookmark(last, false), last).await {
                    return;
                }
            }
            () = tx.closed() => return,
        }
    }
}

/// Seconds since an RFC 3339 timestamp in `object` at `pointer`, for AGE columns.
pub fn age(object: &Value, pointer: &str) -> f64 {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339(t).ok())
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::topology;

    #[test]
    fn changes_get_resource_versions_and_old_versions_expire() {
        let live = LiveCluster::start(&topology::load("webapp").unwrap(), 1).unwrap();
        let store = Store::default();
        let everything = Selectors::default();
        let (rv, pods) = store.list(&live, Kind::Pod, &everything);
        assert_eq!(pods.len(), 3);
        let rv_text = rv.to_string();
        assert!(pods.iter().all(|p| p["metadata"]["resourceVersion"] == rv_text.as_str()));
        assert_eq!(store.changes_since(&live, Kind::Pod, rv).unwrap().1.len(), 0);

        live.scale("webapp", 4).unwrap();
        let (now, changes) = store.changes_since(&live, Kind::Pod, rv).unwrap();
        assert!(now > rv);
        assert_eq!(changes.len(), 1, "one pod added, the others unchanged");
        let (old, new, deleted) = &changes[0];
        assert!(old.is_none() && !deleted);
        assert_eq!(new["metadata"]["resourceVersion"], now.to_string());
        let deployments = store.changes_since(&live, Kind::Deployment, rv).unwrap().1;
        assert_eq!(deployments[0].1["spec"]["replicas"], 4);

        live.scale("webapp", 3).unwrap();
        let (_, changes) = store.changes_since(&live, Kind::Pod, now).unwrap();
        assert_eq!(changes.len(), 1);
        assert!(changes[0].2, "the pending pod is deleted at once");
        assert_eq!(store.changes_since(&live, Kind::Pod, rv - 1).err(), Some(rv));
    }
}
