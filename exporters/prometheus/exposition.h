// The two text formats a Prometheus server scrapes: the classic text format 0.0.4 and
// OpenMetrics 1.0, chosen from the scrape's Accept header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

namespace kscope::prom {

enum class Format { text, openmetrics };

// OpenMetrics when the Accept header lists application/openmetrics-text (version 1.0.0,
// 0.0.1 or none) with q>0 and ranks it at least as high as text/plain (or the wildcard
// that stands for it); text otherwise, including an empty or unparsable header.
Format negotiate(std::string_view accept);

// "text/plain; version=0.0.4; charset=utf-8" or
// "application/openmetrics-text; version=1.0.0; charset=utf-8".
std::string_view content_type(Format f);

// Appends the families to `out`. Families without samples are left out; OpenMetrics ends
// with "# EOF".
void serialize(const std::vector<prometheus::MetricFamily>& families, Format f, std::string& out);

}  // namespace kscope::prom
