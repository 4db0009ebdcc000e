// Renders a tool's events through its field list: the getters run once per shown field.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "render/encoder.h"

namespace kscope {

template <class Event>
std::vector<FieldInfo> field_infos(std::span<const Field<Event>> fields) {
  std::vector<FieldInfo> infos;
  for (const auto& f : fields) infos.push_back(f.info);
  return infos;
}

template <class Event>
class Renderer {
 public:
  Renderer(Format format, std::string_view type, std::span<const Field<Event>> fields, Output& out)
      : fields_(fields), encoder_(RowEncoder::create(format, type, field_infos(fields), out)) {}

  void header() { encoder_->header(); }
  void render(const Event& e) {
    encoder_->begin_row();
    for (size_t i = 0; i < fields_.size(); ++i) {
      const Field<Event>& f = fields_[i];
      if (encoder_->shows(i)) encoder_->field(i, f.get(e), f.mark ? f.mark(e) : std::string_view());
    }
    encoder_->end_row();
  }

 private:
  std::span<const Field<Event>> fields_;
  std::unique_ptr<RowEncoder> encoder_;
};

}  // namespace kscope
