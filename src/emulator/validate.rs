//! Validation of a parsed topology file: what serde cannot check (references between
//! services, ranges, duplicate names, call cycles), with errors naming the field path, and the
//! resolution of names into the indices of a [`Topology`]. Must not depend on `control/`.

use std::collections::HashMap;
use std::sync::Arc;

use super::quantity::ServiceTime;
use super::topology::{
    Call, CallConfig, MAX_REPLICAS, Operation, Route, ServiceSpec, Topology, TopologyConfig,
    TopologyError,
};

impl TopologyConfig {
    /// Checks what serde cannot (references, ranges, cycles) and resolves names to indices.
    pub fn validate(&self, file: &str) -> Result<Topology, TopologyError> {
        let invalid = |path: String, message: String| TopologyError::Invalid {
            file: file.to_string(),
            path,
            message,
        };
        let mut index = HashMap::new();
        for (i, service) in self.services.iter().enumerate() {
            if !is_dns_label(&service.name) {
                return Err(invalid(
                    format!("services[{i}].name"),
                    format!(
                        "`{}` is not a DNS label (lowercase letters, digits, '-', at most 52 characters)",
                        service.name
                    ),
                ));
            }
            if index.insert(service.name.as_str(), i).is_some() {
                return Err(invalid(
                    format!("services[{i}].name"),
                    format!("duplicate service `{}`", service.name),
                ));
            }
        }
        if self.services.is_empty() {
            return Err(invalid("services".into(), "at least one service is needed".into()));
        }
        // Operation names per service, the implicit one when `operations` is empty.
        let op_names: Vec<Vec<&str>> = self
            .services
            .iter()
            .map(|s| match s.operations.is_empty() {
                true => vec![s.name.as_str()],
                false => s.operations.iter().map(|o| o.name.as_str()).collect(),
            })
            .collect();
        let resolve_call = |path: &str, call: &CallConfig| -> Result<Call, TopologyError> {
            let service = *index.get(call.service.as_str()).ok_or_else(|| {
                invalid(format!("{path}.service"), format!("unknown service `{}`", call.service))
            })?;
            let operation = match &call.operation {
                None => 0,
                Some(name) => {
                    op_names[service].iter().position(|o| o == name).ok_or_else(|| {
                        invalid(
                            format!("{path}.operation"),
                            format!(
                                "service `{}` has no operation `{name}` (it has: {})",
                                call.service,
                                op_names[service].join(", ")
                            ),
                        )
                    })?
                }
            };
            if !(0.0..=1.0).contains(&call.probability) {
                return Err(invalid(
                    format!("{path}.probability"),
                    format!("{} is not in [0, 1]", call.probability),
                ));
            }
            Ok(Call { service, operation, probability: call.probability, sync: call.sync })
        };

        let mut services = Vec::with_capacity(self.services.len());
        for (i, s) in self.services.iter().enumerate() {
            let at = |field: &str| format!("services[{i}].{field}");
            if s.replicas > MAX_REPLICAS {
                return Err(invalid(
                    at("replicas"),
                    format!("{} is above the maximum {MAX_REPLICAS}", s.replicas),
                ));
            }
            if s.cpu.limit.0 <= 0.0 {
                return Err(invalid(
                    at("cpu.limit"),
                    "must be above 0 (a replica with no CPU never answers)".into(),
                ));
            }
            if s.cpu.request.0 > s.cpu.limit.0 {
                return Err(invalid(at("cpu.request"), "is above cpu.limit".into()));
            }
            if s.memory.request.0 > s.memory.limit.0 {
                return Err(invalid(at("memory.request"), "is above memory.limit".into()));
            }
            if s.memory.baseline.0 >= s.memory.limit.0 {
                return Err(invalid(
                    at("memory.baseline"),
                    "must be below memory.limit (the replica would never start)".into(),
                ));
            }
            if !s.operations.is_empty() && !s.calls.is_empty() {
                return Err(invalid(
                    at("calls"),
                    "give calls either per operation or for the service, not both".into(),
                ));
            }
            let mut operations = Vec::new();
            if s.operations.is_empty() {
                let calls = s
                    .calls
                    .iter()
                    .enumerate()
                    .map(|(c, call)| resolve_call(&at(&format!("calls[{c}]")), call))
                    .collect::<Result<_, _>>()?;
                operations.push(operation(&s.name, s.service_time, calls));
            }
            for (o, op) in s.operations.iter().enumerate() {
                if op_names[i][..o].contains(&op.name.as_str()) {
                    return Err(invalid(
                        at(&format!("operations[{o}].name")),
                        format!("duplicate operation `{}`", op.name),
                    ));
                }
                let calls = op
                    .calls
                    .iter()
                    .enumerate()
                    .map(|(c, call)| {
                        resolve_call(&at(&format!("operations[{o}].calls[{c}]")), call)
                    })
                    .collect::<Result<_, _>>()?;
                operations.push(operation(
                    &op.name,
                    op.service_time.unwrap_or(s.service_time),
                    calls,
                ));
            }
            services.push(ServiceSpec {
                name: Arc::from(s.name.as_str()),
                container: s.container.clone(),
                replicas: s.replicas,
                cpu_request_millis: s.cpu.request.0,
                cpu_limit_millis: s.cpu.limit.0,
                memory_request_bytes: s.memory.request.0,
                memory_limit_bytes: s.memory.limit.0,
                memory_baseline_bytes: s.memory.baseline.0,
                memory_per_request_bytes: s.memory.per_request.0,
                startup_delay: s.startup_delay.as_duration(),
                operations,
            });
        }
        if let Some(cycle) = find_cycle(&services) {
            return Err(invalid("services".into(), format!("the call graph has a cycle: {cycle}")));
        }

        let entry = *index
            .get(self.entry.as_str())
            .ok_or_else(|| invalid("entry".into(), format!("unknown service `{}`", self.entry)))?;
        if self.routes.is_empty() {
            return Err(invalid("routes".into(), "at least one route is needed".into()));
        }
        let mut routes: Vec<Route> = Vec::new();
        for (r, route) in self.routes.iter().enumerate() {
            let method = route.method.to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&method.as_str()) {
                return Err(invalid(
                    format!("routes[{r}].method"),
                    format!("unknown HTTP method `{}`", route.method),
                ));
            }
            if !route.path.starts_with('/') || route.path.contains('?') {
                return Err(invalid(
                    format!("routes[{r}].path"),
                    format!("`{}` must start with '/' and have no query", route.path),
                ));
            }
            if routes.iter().any(|other| other.method == method && other.path == route.path) {
                return Err(invalid(
                    format!("routes[{r}]"),
                    format!("duplicate route {method} {}", route.path),
                ));
            }
            let operation = match &route.operation {
                None => 0,
                Some(name) => op_names[entry].iter().position(|o| o == name).ok_or_else(|| {
                    invalid(
                        format!("routes[{r}].operation"),
                        format!("entry service `{}` has no operation `{name}`", self.entry),
                    )
                })?,
            };
            routes.push(Route { method, path: route.path.clone(), operation });
        }
        Ok(Topology {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            entry,
            routes,
            services,
        })
    }
}

fn operation(name: &str, service_time: ServiceTime, calls: Vec<Call>) -> Operation {
    Operation { name: Arc::from(name), service_time, sampler: service_time.sampler(), calls }
}

/// Kubernetes object names must be DNS labels; 52 leaves room for the `-<hash>-<suffix>` pod name.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 52
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A cycle in the (service, operation) call graph would make a request recurse forever.
fn find_cycle(services: &[ServiceSpec]) -> Option<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks: Vec<Vec<Mark>> =
        services.iter().map(|s| vec![Mark::New; s.operations.len()]).collect();
    fn visit(
        services: &[ServiceSpec],
        marks: &mut [Vec<Mark>],
        node: (usize, usize),
        stack: &mut Vec<(usize, usize)>,
    ) -> bool {
        match marks[node.0][node.1] {
            Mark::Done => return false,
            Mark::Open => {
                stack.push(node);
                return true;
            }
            Mark::New => {}
        }
        marks[node.0][node.1] = Mark::Open;
        stack.push(node);
        for call in &services[node.0].operations[node.1].calls {
            if visit(services, marks, (call.service, call.operation), stack) {
                return true;
            }
        }
        stack.pop();
        marks[node.0][node.1] = Mark::Done;
        false
    }
    for s in 0..services.len() {
        for o in 0..services[s].operations.len() {
            let mut stack = Vec::new();
            if visit(services, &mut marks, (s, o), &mut stack) {
                let names: Vec<String> = stack
                    .iter()
                    .map(|&(s, o)| {
                        format!("{}/{}", services[s].name, services[s].operations[o].name)
                    })
                    .collect();
                return Some(names.join(" -> "));
            }
        }
    }
    None
}
