#include "paynotifyctl/trace/trace_command.hpp"

namespace paynotify::ctl {

namespace {

Result Trace(const Invocation&) { throw std::runtime_error("trace: not written yet"); }

}  // namespace

void RegisterTraceCommand(std::vector<Command>& commands) {
  commands.push_back(Command{
      .group = "trace",
      .verb = "",
      .summary = "one payment through both databases: was it applied, if not where is it",
      .synopsis = "(--pay-no N | --message-id ID | --selection ID)",
      .description = "",
      .options = {{.name = "--pay-no", .value_name = "N", .help = "the payment number (xc_pay_record.pay_no)"},
                  {.name = "--message-id", .value_name = "ID", .help = "the AMQP message_id (mq_message.message_id)"},
                  {.name = "--selection", .value_name = "ID", .help = "the course selection (xc_choose_course.id)"}},
      .positional = "",
      .handler = Trace,
  });
}

}  // namespace paynotify::ctl
