// Tests of node identity, the data-directory lock and atomic files.
#include "troupe/runtime/identity.hpp"

#include "troupe/runtime/atomic_file.hpp"
#include "troupe/runtime/errors.hpp"
#include "troupe/testkit/node_process.hpp"

#include <doctest/doctest.h>

#include <fstream>

namespace rt = troupe::runtime;

TEST_SUITE_BEGIN("runtime.identity");

TEST_CASE("the node id survives boots while the incarnation grows") {
  troupe::testkit::temp_dir dir;
  std::mt19937_64 rng{1};
  auto first = rt::boot_identity(dir.path(), rng);
  REQUIRE(first);
  CHECK(first->first_boot);
  CHECK_EQ(first->incarnation, 1u);
  CHECK_EQ(first->node_id.size(), 32u);
  auto second = rt::boot_identity(dir.path(), rng);
  REQUIRE(second);
  CHECK_FALSE(second->first_boot);
  CHECK_EQ(second->node_id, first->node_id);
  CHECK_EQ(second->incarnation, 2u);
  auto third = rt::boot_identity(dir.path(), rng);
  REQUIRE(third);
  CHECK_EQ(third->node_id, first->node_id);
  CHECK_EQ(third->incarnation, 3u);
}

TEST_CASE("different data directories get different node ids") {
  troupe::testkit::temp_dir a;
  troupe::testkit::temp_dir b;
  std::mt19937_64 rng{std::random_device{}()};
  auto ia = rt::boot_identity(a.path(), rng);
  auto ib = rt::boot_identity(b.path(), rng);
  REQUIRE(ia);
  REQUIRE(ib);
  CHECK_NE(ia->node_id, ib->node_id);
}

TEST_CASE("a corrupt identity file is set aside and a new identity made") {
  troupe::testkit::temp_dir dir;
  auto path = dir.path() / rt::identity_file_name;
  std::vector<std::string> garbages{"", "node_id=zz\nincarnation=1\n",
                                    "format=1\nnode_id=0123\nincarnation=x\n",
                                    std::string("\0\xff\x01", 3)};
  for (const auto& garbage : garbages) {
    CAPTURE(garbage);
    std::ofstream{path, std::ios::binary | std::ios::trunc} << garbage;
    std::mt19937_64 rng{7};
    auto ident = rt::boot_identity(dir.path(), rng);
    REQUIRE(ident);
    CHECK(ident->first_boot);
    CHECK_EQ(ident->incarnation, 1u);
    REQUIRE(ident->set_aside_file);
    CHECK_EQ(troupe::testkit::read_text(*ident->set_aside_file), garbage);
  }
}

TEST_CASE("a data directory is held by one node at a time") {
  troupe::testkit::temp_dir dir;
  auto data = dir.path() / "nested" / "data";
  auto first = rt::data_dir_lock::acquire(data);
  REQUIRE(first);
  CHECK(std::filesystem::is_directory(data));
  auto second = rt::data_dir_lock::acquire(data);
  REQUIRE_FALSE(second);
  CHECK_EQ(second.error(), rt::errc::data_dir_locked);
  { auto released = std::move(*first); }
  CHECK(rt::data_dir_lock::acquire(data));
}

TEST_CASE("a data directory that cannot be created is a clear error") {
  troupe::testkit::temp_dir dir;
  std::ofstream{dir.path() / "file"} << "x";
  auto lock = rt::data_dir_lock::acquire(dir.path() / "file" / "sub");
  REQUIRE_FALSE(lock);
  CHECK_EQ(lock.error(), rt::errc::data_dir_unusable);
  CHECK(rt::describe(lock.error()).find("file/sub") != std::string::npos);
}

TEST_CASE("atomic writes replace the whole file and leave no temporary") {
  troupe::testkit::temp_dir dir;
  auto path = dir.path() / "state";
  REQUIRE_FALSE(rt::write_file_atomically(path, "first"));
  REQUIRE_FALSE(rt::write_file_atomically(path, "second"));
  CHECK_EQ(*rt::read_file(path), "second");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state.tmp"));
  CHECK_FALSE(rt::read_file(dir.path() / "missing"));
}

TEST_SUITE_END();
