// coproc/coproc.hpp - the umbrella header: Erlang/Elixir processes for C++20.
#pragma once

#include "coproc/atom.hpp"
#include "coproc/clock.hpp"
#include "coproc/crash_report.hpp"
#include "coproc/exit_reason.hpp"
#include "coproc/link.hpp"
#include "coproc/message.hpp"
#include "coproc/pid.hpp"
#include "coproc/process.hpp"
#include "coproc/receive.hpp"
#include "coproc/registry.hpp"
#include "coproc/runtime.hpp"
#include "coproc/scoped_process.hpp"
#include "coproc/spawn.hpp"
#include "coproc/timer.hpp"
