// Tests of the console's command registry and line splitting (no actors).
#include "troupe/actors/console.hpp"

#include "troupe/actors/console_commands.hpp"
#include "troupe/actors/errors.hpp"
#include "troupe/runtime/crash_log.hpp"
#include "troupe/testkit/node_process.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

namespace ta = troupe::actors;

namespace {

using words = std::vector<std::string>;

ta::console_command echo_command() {
  return {.name = "echo",
          .usage = "<word>...",
          .summary = "repeats its arguments",
          .destructive = false,
          .max_args = 3,
          .handler = [](const ta::console_call& call) {
            std::string text;
            for (const auto& a : call.args) {
              text += (text.empty() ? "" : "|") + a;
            }
            return ta::console_reply::success(text, {{"n", call.args.size()}});
          }};
}

} // namespace

TEST_SUITE_BEGIN("actors.console");

TEST_CASE("lines split into words with quotes and escapes") {
  CHECK(ta::split_words("") == words{});
  CHECK(ta::split_words("   \t ") == words{});
  CHECK(ta::split_words("ring full") == words{"ring", "full"});
  CHECK(ta::split_words("  send  a/b   hello  ")
        == words{"send", "a/b", "hello"});
  CHECK(ta::split_words(R"(send x "two words" 'single "q"')")
        == words{"send", "x", "two words", R"(single "q")"});
  CHECK(ta::split_words(R"(a\ b c\"d)") == words{"a b", R"(c"d)"});
  CHECK(ta::split_words(R"(say "")") == words{"say", ""});
  CHECK(ta::split_words(R"(x "unterminated)").error()
        == ta::errc::bad_console_input);
  CHECK(ta::split_words("x 'open").error() == ta::errc::bad_console_input);
  CHECK(ta::split_words(R"(x\)").error() == ta::errc::bad_console_input);
}

TEST_CASE("commands run by name; arguments, confirmation and failures are "
          "checked") {
  ta::console_registry reg;
  REQUIRE_FALSE(reg.add(echo_command()));
  auto r = reg.run({"echo", "a", "b"}, false, false);
  CHECK(r.ok);
  CHECK(r.text == "a|b");
  CHECK(r.data["n"] == 2);

  SUBCASE("unknown and empty commands are errors that name the problem") {
    auto unknown = reg.run({"nope"}, false, false);
    CHECK_FALSE(unknown.ok);
    CHECK(unknown.text.find("unknown command \"nope\"") != std::string::npos);
    CHECK_FALSE(reg.run({}, false, false).ok);
  }
  SUBCASE("too many arguments") {
    auto many = reg.run({"echo", "1", "2", "3", "4"}, false, false);
    CHECK_FALSE(many.ok);
    CHECK(many.text.find("too many arguments") != std::string::npos);
  }
  SUBCASE("destructive commands need confirmation") {
    int runs = 0;
    REQUIRE_FALSE(reg.add({.name = "wipe",
                           .usage = "",
                           .summary = "changes things",
                           .destructive = true,
                           .max_args = 0,
                           .handler = [&runs](const ta::console_call& c) {
                             ++runs;
                             CHECK(c.confirmed);
                             return ta::console_reply::success("done");
                           }}));
    auto refused = reg.run({"wipe"}, false, false);
    CHECK_FALSE(refused.ok);
    CHECK(refused.text.find("--yes") != std::string::npos);
    CHECK(runs == 0);
    CHECK(reg.run({"wipe"}, false, true).ok);
    CHECK(runs == 1);
  }
  SUBCASE("a handler's exception becomes an error reply") {
    REQUIRE_FALSE(
      reg.add({.name = "throws",
               .usage = "",
               .summary = "fails",
               .destructive = false,
               .max_args = std::nullopt,
               .handler = [](const ta::console_call&) -> ta::console_reply {
                 throw std::runtime_error("disk on fire");
               }}));
    auto r2 = reg.run({"throws"}, false, false);
    CHECK_FALSE(r2.ok);
    CHECK(r2.text == "throws: failed: disk on fire");
  }
}

TEST_CASE("names are checked, unique, and removable; help lists them") {
  ta::console_registry reg;
  auto bad = echo_command();
  for (const std::string& name : std::vector<std::string>{
         "", "Echo", "1echo", "ec ho", "e;x", std::string(33, 'a')}) {
    CAPTURE(name);
    bad.name = name;
    CHECK(reg.add(bad) == ta::errc::bad_console_input);
  }
  auto no_handler = echo_command();
  no_handler.handler = nullptr;
  CHECK(reg.add(no_handler) == ta::errc::bad_console_input);
  REQUIRE_FALSE(reg.add(echo_command()));
  CHECK(reg.add(echo_command()) == ta::errc::bad_console_input);
  CHECK(reg.add({.name = "help",
                 .usage = "",
                 .summary = "",
                 .destructive = false,
                 .max_args = 0,
                 .handler = echo_command().handler})
        == ta::errc::bad_console_input);
  CHECK(reg.names() == words{"echo", "help"});

  auto help = reg.run({"help"}, true, false);
  CHECK(help.ok);
  CHECK(help.text.find("echo <word>...") != std::string::npos);
  REQUIRE(help.data["commands"].size() == 2);
  CHECK(help.data["commands"][0]["name"] == "echo");
  auto one = reg.run({"help", "echo"}, false, false);
  CHECK(one.ok);
  CHECK(one.text.find("repeats its arguments") != std::string::npos);
  CHECK_FALSE(reg.run({"help", "nope"}, false, false).ok);

  CHECK(reg.remove("echo"));
  CHECK_FALSE(reg.remove("echo"));
  CHECK_FALSE(reg.remove("help"));
  CHECK_FALSE(reg.run({"echo"}, false, false).ok);
}

TEST_CASE("reports lists crash and supervisor reports, and shows a "
          "supervisor report with its context and child") {
  troupe::testkit::temp_dir dir;
  auto crashes = troupe::runtime::crash_log::open(dir.path());
  REQUIRE(crashes);
  (*crashes)->write({.time = "t1",
                     .node = "n1",
                     .actor_id = 5,
                     .name = "cache",
                     .behaviour = "gen_server",
                     .last_message = "(get)",
                     .status = "",
                     .reason = "boom"});
  (*crashes)->write({.time = "t2",
                     .node = "n1",
                     .actor_id = 9,
                     .name = "top",
                     .behaviour = "supervisor",
                     .last_message = "",
                     .status = "",
                     .reason = "boom",
                     .kind = "supervisor",
                     .context = "child_terminated",
                     .offender = "cache",
                     .offender_actor = 5});
  ta::console_registry console;
  REQUIRE_FALSE(ta::add_runtime_commands(console, {.crashes = *crashes}));
  auto list = console.run({"reports"}, true, false);
  REQUIRE(list.ok);
  CHECK(list.text.find("2 crash reports") != std::string::npos);
  CHECK(list.text.find("gen_server") != std::string::npos);
  CHECK(list.text.find("supervisor child_terminated child=cache")
        != std::string::npos);
  auto shown = console.run({"reports", "show", "2"}, true, false);
  REQUIRE(shown.ok);
  CHECK(shown.text.find("(supervisor report)") != std::string::npos);
  CHECK(shown.text.find("context:      child_terminated") != std::string::npos);
  CHECK(shown.text.find("child:        cache") != std::string::npos);
  CHECK(shown.data["context"] == "child_terminated");
  CHECK(shown.data["offender_actor"] == 5);
}

TEST_SUITE_END();
