// The file helpers every writer relies on: atomic replacement, and directory listing and
// removal that work without std::filesystem iteration (see common/file_io.h for why).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

TEST(FileIo, WritingIntoAMissingDirectoryNamesThePath) {
  test::ScratchDir dir;
  try {
    write_text_file_atomically(dir / "absent" / "f.txt", "x");
    ADD_FAILURE() << "wrote into a directory that does not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent/f.txt"), std::string::npos) << e.what();
  }
}

// Root ignores permission bits, so as root the write runs in a child that has given up root
// (uid and gid of "nobody"); the parent reads its verdict from the exit status.
TEST(FileIo, WritingIntoAReadOnlyDirectoryNamesThePathAndLeavesNothing) {
  test::ScratchDir dir;
  fs::create_directories(dir / "ro");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir / "ro").c_str(), 0555), 0);
  auto attempt = [&]() -> int {  // 0: refused with the path named; 1: written; 2: refused, path unnamed
    try {
      write_text_file_atomically(dir / "ro" / "f.txt", "x");
      return 1;
    } catch (const Error& e) {
      return std::string(e.what()).find("ro/f.txt") != std::string::npos ? 0 : 2;
    }
  };
  int verdict;
  if (::geteuid() != 0) {
    verdict = attempt();
  } else {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      ::_exit(attempt());
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    verdict = WEXITSTATUS(status);
  }
  EXPECT_EQ(verdict, 0) << "1 = the write succeeded, 2 = the error did not name the file, 3 = could not drop root";
  EXPECT_TRUE(list_directory(dir / "ro").empty());  // no temporary left behind
  ::chmod((dir / "ro").c_str(), 0755);
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
