// Folders point one way. A folder is the first two levels of a source path (common/amqp,
// order-service/relay, learning-service/enrollment); folder A depends on folder B when a file
// in A includes a header from B. The production tree must have no cycle in that graph (a
// cycle means neither side can be understood, tested or reused without the other), and
// common/ must never include a daemon's header (mechanisms carry no business vocabulary).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Graph = std::map<std::string, std::set<std::string>>;

const fs::path kRoot{PAYNOTIFY_SOURCE_DIR};
const char* const kProductionTops[] = {"common", "order-service", "learning-service", "paynotifyctl"};

bool IsProductionTop(const std::string& top) {
  for (const char* t : kProductionTops) {
    if (top == t) return true;
  }
  return false;
}

/// "common/amqp/x.hpp" -> "common/amqp"; a file directly below a top ("order-service/main.cpp")
/// -> the top itself.
std::string FolderOf(const fs::path& relative) {
  auto it = relative.begin();
  std::string folder = it->string();
  ++it;
  if (it != relative.end() && std::next(it) != relative.end()) folder += "/" + it->string();
  return folder;
}

/// Every folder -> the folders its files include (production sources only).
Graph IncludeGraph() {
  Graph graph;
  const std::regex include_line(R"(^\s*#\s*include\s*"([^"]+)\")");
  for (const char* top : kProductionTops) {
    for (const auto& entry : fs::recursive_directory_iterator(kRoot / top)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      const std::string from = FolderOf(fs::relative(entry.path(), kRoot));
      graph[from];
      std::ifstream in(entry.path());
      std::string line;
      std::smatch match;
      while (std::getline(in, line)) {
        if (!std::regex_search(line, match, include_line)) continue;
        const fs::path included{match[1].str()};
        if (!IsProductionTop(included.begin()->string())) continue;
        const std::string to = FolderOf(included);
        if (to != from) graph[from].insert(to);
      }
    }
  }
  return graph;
}

/// A cycle as "a -> b -> a", or "" when the graph has none.
std::string FindCycle(const Graph& graph) {
  std::map<std::string, int> state;  // 0 unvisited, 1 on the current path, 2 done
  std::vector<std::string> path;
  std::string cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& node) {
    state[node] = 1;
    path.push_back(node);
    const auto edges = graph.find(node);
    if (edges != graph.end()) {
      for (const auto& next : edges->second) {
        if (state[next] == 1) {
          auto start = std::find(path.begin(), path.end(), next);
          for (auto it = start; it != path.end(); ++it) cycle += *it + " -> ";
          cycle += next;
          return true;
        }
        if (state[next] == 0 && visit(next)) return true;
      }
    }
    path.pop_back();
    state[node] = 2;
    return false;
  };
  for (const auto& [node, edges] : graph) {
    if (state[node] == 0 && visit(node)) return cycle;
  }
  return "";
}

TEST(Layout, TheGraphIsReadFromTheSources) {
  const Graph graph = IncludeGraph();
  // Guards against a test that passes because it read nothing.
  ASSERT_TRUE(graph.count("common/amqp"));
  ASSERT_TRUE(graph.count("learning-service/enrollment"));
  EXPECT_TRUE(graph.at("learning-service/enrollment").count("common/consumer"));
}

TEST(Layout, FoldersPointOneWay) {
  EXPECT_EQ(FindCycle(IncludeGraph()), "") << "folders that include each other";
}

TEST(Layout, CommonNamesNoDaemon) {
  for (const auto& [from, edges] : IncludeGraph()) {
    if (from.rfind("common/", 0) != 0) continue;
    for (const auto& to : edges) {
      EXPECT_EQ(to.rfind("common/", 0), 0u) << from << " includes " << to;
    }
  }
}

// paynotifyctl (the operator tool) builds on the daemons' readers and common/; nothing builds
// on it: its operator-only SQL never becomes part of a daemon.
TEST(Layout, NothingIncludesTheOperatorTool) {
  const Graph graph = IncludeGraph();
  ASSERT_TRUE(graph.count("paynotifyctl/cli"));  // read at all
  for (const auto& [from, edges] : graph) {
    if (from.rfind("paynotifyctl", 0) == 0) continue;
    for (const auto& to : edges) {
      EXPECT_NE(to.rfind("paynotifyctl", 0), 0u) << from << " includes " << to;
    }
  }
}

TEST(Layout, FindCycleFindsOne) {
  const Graph graph{{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}, {"d", {"a"}}};
  EXPECT_EQ(FindCycle(graph), "a -> b -> c -> a");
  EXPECT_EQ(FindCycle(Graph{{"a", {"b"}}, {"b", {}}}), "");
}

}  // namespace
