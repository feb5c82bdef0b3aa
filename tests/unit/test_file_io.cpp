// The file helpers every writer relies on: atomic replacement, and directory listing and
// removal that work without std::filesystem iteration (see common/file_io.h for why).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "common/error.h"
#include "common/file_io.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;

TEST(FileIo, AtomicWriteReplacesWholeOrLeavesTheOldFile) {
  test::ScratchDir dir;
  write_text_file_atomically(dir / "f.txt", "first");
  write_text_file_atomically(dir / "f.txt", "second");
  EXPECT_EQ(read_text_file(dir / "f.txt"), "second");
  EXPECT_THROW(write_file_atomically(dir / "f.txt", [](std::FILE*) { throw Error("writer failed midway"); }), Error);
  EXPECT_EQ(read_text_file(dir / "f.txt"), "second");
  EXPECT_EQ(list_directory(dir.path()), std::vector<std::string>{"f.txt"});  // no temporary left behind
}

TEST(FileIo, WritingIntoAMissingOrReadOnlyDirectoryNamesThePath) {
  test::ScratchDir dir;
  try {
    write_text_file_atomically(dir / "absent" / "f.txt", "x");
    ADD_FAILURE() << "wrote into a directory that does not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f.txt"), std::string::npos) << e.what();
  }
}

TEST(FileIo, ListsAndRemovesNestedTrees) {
  test::ScratchDir dir;
  fs::create_directories(dir / "a" / "b" / "c");
  write_text_file_atomically(dir / "a" / "b" / "c" / "deep.txt", "x");
  write_text_file_atomically(dir / "a" / "top.txt", "y");
  EXPECT_EQ(list_directory(dir / "a"), (std::vector<std::string>{"b", "top.txt"}));
  EXPECT_FALSE(directory_is_empty(dir / "a"));
  remove_tree(dir / "a");
  EXPECT_FALSE(fs::exists(dir / "a"));
  EXPECT_NO_THROW(remove_tree(dir / "a"));  // absent: nothing to do
  EXPECT_THROW(list_directory(dir / "a"), Error);
}

}  // namespace
}  // namespace symtune
