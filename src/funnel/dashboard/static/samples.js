// Prometheus arithmetic over live snapshots: sums, increases and histogram quantiles, as the
// Grafana panels compute them with PromQL, but from the snapshots this page has seen.
//
// A snapshot is `{at, services: [{name, ready, checks, error, samples: [{name, labels,
// value}]}]}`, as `/dashboard/api/live` answers it.

function matches(sample, name, labels) {
  return sample.name === name
    && Object.entries(labels).every(([key, value]) => sample.labels[key] === value);
}

/** The sum of a service's samples of `name` with `labels`; null when it has none. */
export function serviceTotal(service, name, labels = {}) {
  let total = null;
  for (const sample of service.samples) {
    if (matches(sample, name, labels)) total = (total ?? 0) + sample.value;
  }
  return total;
}

function combine(snapshot, name, labels, pick) {
  const found = snapshot.services
    .map((service) => serviceTotal(service, name, labels))
    .filter((value) => value != null);
  return found.length ? pick(found) : null;
}

/** Summed over every service (a counter counted by whoever did the work). */
export function sum(snapshot, name, labels = {}) {
  return combine(snapshot, name, labels, (values) => values.reduce((a, b) => a + b, 0));
}

/** The largest service's figure (a gauge every replica reports the same way). */
export function max(snapshot, name, labels = {}) {
  return combine(snapshot, name, labels, (values) => Math.max(...values));
}

/** The smallest service's figure. */
export function min(snapshot, name, labels = {}) {
  return combine(snapshot, name, labels, (values) => Math.min(...values));
}

/** The snapshot to measure a window of `seconds` ending at the last one: the oldest kept
 *  inside the window; null until there are two snapshots. */
export function windowStart(history, seconds) {
  if (history.length < 2) return null;
  const last = history[history.length - 1];
  return history.find((snapshot) => snapshot.at >= last.at - seconds && snapshot !== last)
    ?? history[history.length - 2];
}

/** How much a counter grew from `then` to `now`, summed over services; a service whose
 *  counter went down restarted, so its whole value is the increase (as PromQL's). */
export function increase(then, now, name, labels = {}, onlyService = null) {
  let total = null;
  for (const service of now.services) {
    if (onlyService != null && service.name !== onlyService) continue;
    const current = serviceTotal(service, name, labels);
    if (current == null) continue;
    const before = then.services.find((old) => old.name === service.name);
    const previous = before ? serviceTotal(before, name, labels) : null;
    total = (total ?? 0) + (previous != null && current >= previous ? current - previous : current);
  }
  return total;
}

/** Per-second rate of a counter from `then` to `now`; null without two snapshots. */
export function perSecond(then, now, name, labels = {}, onlyService = null) {
  if (then == null || now.at <= then.at) return null;
  const grown = increase(then, now, name, labels, onlyService);
  return grown == null ? null : grown / (now.at - then.at);
}

/** A histogram's cumulative buckets `[[upperBound, count], …]`, summed over services. */
function buckets(snapshot, name, labels) {
  const byBound = new Map();
  for (const service of snapshot.services) {
    for (const sample of service.samples) {
      if (!matches(sample, `${name}_bucket`, labels)) continue;
      const bound = sample.labels.le === "+Inf" ? Infinity : Number(sample.labels.le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + sample.value);
    }
  }
  return [...byBound.entries()].sort((a, b) => a[0] - b[0]);
}

/** The `q` quantile of what a histogram observed between two snapshots, interpolated inside
 *  its bucket as `histogram_quantile` does; null when nothing was observed. */
export function quantile(q, then, now, name, labels = {}) {
  const before = new Map(buckets(then, name, labels));
  const grown = buckets(now, name, labels).map(([bound, total]) => {
    const previous = before.get(bound) ?? 0;
    return [bound, total >= previous ? total - previous : total];
  });
  const observed = grown.length ? grown[grown.length - 1][1] : 0;
  if (observed <= 0) return null;
  const rank = q * observed;
  let lower = 0;
  let below = 0;
  for (const [bound, cumulative] of grown) {
    if (cumulative >= rank) {
      // Past the last finite bound there is nothing to interpolate against.
      if (bound === Infinity) return lower;
      const inBucket = cumulative - below;
      return inBucket > 0 ? lower + (bound - lower) * ((rank - below) / inBucket) : bound;
    }
    lower = bound;
    below = cumulative;
  }
  return lower;
}
