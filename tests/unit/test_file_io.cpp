// The file helpers every writer relies on: atomic replacement, and directory listing and
// removal that work without std::filesystem iteration (see common/file_io.h for why).
#include <gtest/gtest.h>

#include <cstring>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/file_io.h"
#include "common/progress.h"
#include "common/tensorboard_events.h"
#include "test_support.h"

namespace symtune {
namespace {
namespace fs = std::filesystem;

// CRC-32C against the published test vectors (RFC 3720, appendix B.4, and "123456789"), and
// TensorFlow's record framing of an event file: the length's and the payload's masked CRCs.
TEST(TensorBoardEvents, Crc32cMatchesKnownVectorsAndRecordsAreFramed) {
  const std::string digits = "123456789";
  EXPECT_EQ(crc32c(digits.data(), digits.size()), 0xE3069283u);
  std::vector<unsigned char> zeros(32, 0), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<unsigned char>(i);
    down[i] = static_cast<unsigned char>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), 32), 0x113FDB5Cu);
  EXPECT_EQ(crc32c(digits.data() + 4, 5, crc32c(digits.data(), 4)), 0xE3069283u);  // continued
  const uint32_t crc = crc32c(digits.data(), digits.size());
  EXPECT_EQ(masked_crc32c(digits.data(), digits.size()), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);

  test::ScratchDir dir;
  std::filesystem::path path;
  {
    TensorBoardEventFile events(dir / "tb");
    events.add_scalars({{"train/loss", 2.5}}, 3);
    path = events.path();
  }
  EXPECT_EQ(path.filename().string().rfind("events.out.tfevents.", 0), 0u) << path;
  const std::string bytes = read_text_file(path);
  size_t at = 0, records = 0;
  while (at < bytes.size()) {  // every record: length, its CRC, payload, its CRC
    ASSERT_LE(at + 12, bytes.size());
    uint64_t length;
    uint32_t length_crc, data_crc;
    std::memcpy(&length, bytes.data() + at, 8);
    std::memcpy(&length_crc, bytes.data() + at + 8, 4);
    ASSERT_LE(at + 16 + length, bytes.size());
    std::memcpy(&data_crc, bytes.data() + at + 12 + length, 4);
    EXPECT_EQ(length_crc, masked_crc32c(bytes.data() + at, 8));
    EXPECT_EQ(data_crc, masked_crc32c(bytes.data() + at + 12, length));
    at += 16 + length;
    ++records;
  }
  EXPECT_EQ(records, 2u);  // the file version, then the scalar
  EXPECT_NE(bytes.find("brain.Event:2"), std::string::npos);
  EXPECT_NE(bytes.find("train/loss"), std::string::npos);
}

// Progress lines: done / total with the share, the rate and the time left once there is a rate;
// off a terminal, plain lines (no carriage returns), the last with the time taken.
TEST(Progress, LinesShowDoneTotalRateAndTimeLeft) {
  EXPECT_EQ(progress_text("eval icl", "prompts", 0, 400, 0.0), "eval icl: 0/400 prompts (0%)");
  EXPECT_EQ(progress_text("eval icl", "prompts", 100, 400, 50.0), "eval icl: 100/400 prompts (25%) | 2/s | ETA 2m30s");
  EXPECT_EQ(duration_text(7380), "2h03m");
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    Progress p("convert x", "tensors", 3, /*terminal=*/0, out);
    p.advance(2);
    p.advance();
  }
  std::rewind(out);
  char buf[256] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, out);
  std::fclose(out);
  const std::string text(buf, n);
  EXPECT_EQ(text.rfind("convert x: 3/3 tensors (100%)", 0), 0u) << text;  // one line, at the end
  EXPECT_NE(text.find("in all\n"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
}

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
