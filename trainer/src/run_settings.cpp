#include "latentkit/trainer/run_settings.h"

#include <stdexcept>

namespace latentkit::trainer {

Schedule parse_schedule(const std::string& name) {
  if (name == kDefaultSchedule.name) return kDefaultSchedule;
  if (name == kLongSchedule.name) return kLongSchedule;
  throw std::invalid_argument("unknown schedule '" + name + "' (expected 'default' or 'long')");
}

}  // namespace latentkit::trainer
