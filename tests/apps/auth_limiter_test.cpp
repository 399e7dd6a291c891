// Tests of the per-source budget of failed console authentications, with
// time passed in.
#include "troupe/apps/auth_limiter.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using troupe::auth_limiter;

TEST_SUITE_BEGIN("apps.auth_limiter");

TEST_CASE("a source may fail its burst, then once per refill") {
  auth_limiter l{3, 2s};
  auth_limiter::time_point t{};
  for (int i = 0; i < 3; ++i) {
    CHECK(l.allows("a", t));
    l.failed("a", t);
  }
  CHECK_FALSE(l.allows("a", t));
  CHECK_FALSE(l.allows("a", t + 1999ms));
  CHECK(l.allows("a", t + 2s));
  l.failed("a", t + 2s);
  CHECK_FALSE(l.allows("a", t + 2s));
  // Whole again after burst × refill: forgotten.
  CHECK(l.allows("a", t + 2s + 6s));
  CHECK_EQ(l.tracked(), 0);
}

TEST_CASE("one source's failures never limit another") {
  auth_limiter l{2, 1s};
  auth_limiter::time_point t{};
  l.failed("a", t);
  l.failed("a", t);
  CHECK_FALSE(l.allows("a", t));
  CHECK(l.allows("b", t));
  l.failed("b", t);
  CHECK(l.allows("b", t));
  CHECK_EQ(l.tracked(), 2);
}

TEST_CASE("the tracked sources are bounded: whole budgets go first, then the "
          "longest quiet") {
  auth_limiter l{2, 1s, 3};
  auth_limiter::time_point t{};
  l.failed("old", t);
  l.failed("old", t);
  l.failed("mid", t + 500ms);
  l.failed("mid", t + 500ms);
  l.failed("new", t + 900ms);
  l.failed("new", t + 900ms);
  l.failed("newest", t + 950ms); // a fourth: the quietest ("old") goes
  CHECK_EQ(l.tracked(), 3);
  CHECK(l.allows("old", t + 950ms)); // forgotten, so allowed
  CHECK_FALSE(l.allows("mid", t + 950ms));
  // Much later the others' budgets are whole: a new source over the bound
  // drops them all and is the only one tracked.
  l.failed("late", t + 100s);
  CHECK_EQ(l.tracked(), 1);
  CHECK(l.allows("late", t + 100s));
}

TEST_SUITE_END();
