#include "bench/operations.h"

#include <cstring>
#include <memory>

namespace bench {
namespace {

std::string Failed(const std::string& what, Connection& c, int status, int nfsstat) {
  return what + ": " + (status != RPC_STATUS_SUCCESS ? c.LastError() : StatusName(nfsstat));
}

}  // namespace

void Null(Connection& c, Done done) {
  c.Call(rpc_nfs3_null_async, [&c, done = std::move(done)](int status, void*) {
    done({status == RPC_STATUS_SUCCESS ? "" : "NULL: " + c.LastError()});
  });
}

void GetAttr(Connection& c, const Handle& object, Done done) {
  GETATTR3args args{};
  args.object = Fh(object);
  c.Call(rpc_nfs3_getattr_async, args, [&c, done = std::move(done)](int status, void* result) {
    auto* res = static_cast<GETATTR3res*>(result);
    if (res == nullptr || res->status != NFS3_OK) {
      done({Failed("GETATTR", c, status, res ? res->status : 0)});
      return;
    }
    done({});
  });
}

void LookupName(Connection& c, const Handle& dir, const std::string& name, Done done) {
  LOOKUP3args args{};
  args.what.dir = Fh(dir);
  args.what.name = const_cast<char*>(name.c_str());
  c.Call(rpc_nfs3_lookup_async, args,
         [&c, &name, done = std::move(done)](int status, void* result) {
           auto* res = static_cast<LOOKUP3res*>(result);
           if (res == nullptr || res->status != NFS3_OK) {
             done({Failed("LOOKUP " + name, c, status, res ? res->status : 0)});
             return;
           }
           done({});
         });
}

void ReadChecked(Connection& c, const Handle& file, uint64_t seed, uint64_t offset, uint32_t count,
                 const Pattern& pattern, Done done) {
  READ3args args{};
  args.file = Fh(file);
  args.offset = offset;
  args.count = count;
  c.Call(rpc_nfs3_read_async, args,
         [&c, &pattern, seed, offset, count, done = std::move(done)](int status, void* result) {
           auto* res = static_cast<READ3res*>(result);
           const std::string what = "READ at " + std::to_string(offset);
           if (res == nullptr || res->status != NFS3_OK) {
             done({Failed(what, c, status, res ? res->status : 0)});
             return;
           }
           const auto& ok = res->READ3res_u.resok;
           if (ok.count != count || ok.data.data_len != count) {
             done({what + ": short read (" + std::to_string(ok.count) + " of " +
                   std::to_string(count) + " bytes)"});
             return;
           }
           if (!pattern.Matches(seed, offset, {ok.data.data_val, ok.data.data_len})) {
             done({what + ": data mismatch"});
             return;
           }
           done({{}, count});
         });
}

void WritePattern(Connection& c, const Handle& file, uint64_t seed, uint64_t offset, uint32_t count,
                  stable_how stable, const Pattern& pattern, Done done) {
  const auto data = pattern.View(seed, offset, count);
  WRITE3args args{};
  args.file = Fh(file);
  args.offset = offset;
  args.count = static_cast<count3>(data.size());
  args.stable = stable;
  args.data.data_len = static_cast<u_int>(data.size());
  args.data.data_val = const_cast<char*>(data.data());
  c.Call(rpc_nfs3_write_async, args,
         [&c, offset, count = data.size(), done = std::move(done)](int status, void* result) {
           auto* res = static_cast<WRITE3res*>(result);
           const std::string what = "WRITE at " + std::to_string(offset);
           if (res == nullptr || res->status != NFS3_OK) {
             done({Failed(what, c, status, res ? res->status : 0)});
             return;
           }
           if (res->WRITE3res_u.resok.count != count) {
             done({what + ": short write"});
             return;
           }
           done({{}, count});
         });
}

void Commit(Connection& c, const Handle& file, Done done) {
  COMMIT3args args{};
  args.file = Fh(file);
  c.Call(rpc_nfs3_commit_async, args, [&c, done = std::move(done)](int status, void* result) {
    auto* res = static_cast<COMMIT3res*>(result);
    if (res == nullptr || res->status != NFS3_OK) {
      done({Failed("COMMIT", c, status, res ? res->status : 0)});
      return;
    }
    done({});
  });
}

namespace {

// The WRITEs and COMMIT after a CREATE, one piece at a time.
struct Filling {
  Connection* c;
  Handle file;
  uint64_t seed;
  uint64_t size;
  uint64_t written = 0;
  const Pattern* pattern;
  Done done;
};

void FillNext(const std::shared_ptr<Filling>& f) {
  if (f->written == f->size) {
    Commit(*f->c, f->file, [f](Outcome o) {
      o.bytes = f->size;
      f->done(std::move(o));
    });
    return;
  }
  const uint64_t piece = f->pattern->View(f->seed, f->written, f->size - f->written).size();
  WritePattern(*f->c, f->file, f->seed, f->written, static_cast<uint32_t>(piece), UNSTABLE,
               *f->pattern, [f, piece](Outcome o) {
                 if (!o.error.empty()) {
                   f->done(std::move(o));
                   return;
                 }
                 f->written += piece;
                 FillNext(f);
               });
}

}  // namespace

void CreateWithContent(Connection& c, const Handle& dir, const std::string& name, uint64_t seed,
                       uint64_t size, const Pattern& pattern, std::function<void(Handle)> created,
                       Done done) {
  CREATE3args args{};
  args.where.dir = Fh(dir);
  args.where.name = const_cast<char*>(name.c_str());
  args.how.mode = UNCHECKED;
  args.how.createhow3_u.obj_attributes.mode.set_it = 1;
  args.how.createhow3_u.obj_attributes.mode.set_mode3_u.mode = 0644;
  args.how.createhow3_u.obj_attributes.size.set_it = 1;  // a file left by an earlier run
  c.Call(rpc_nfs3_create_async, args,
         [&c, &pattern, &name, seed, size, created = std::move(created), done = std::move(done)](
             int status, void* result) mutable {
           auto* res = static_cast<CREATE3res*>(result);
           if (res == nullptr || res->status != NFS3_OK) {
             done({Failed("CREATE " + name, c, status, res ? res->status : 0)});
             return;
           }
           const auto& obj = res->CREATE3res_u.resok.obj;
           if (!obj.handle_follows) {
             done({"CREATE " + name + ": the reply has no file handle"});
             return;
           }
           Handle file = FromFh(obj.post_op_fh3_u.handle);
           created(file);
           if (size == 0) {
             done({});
             return;
           }
           FillNext(std::make_shared<Filling>(
               Filling{&c, std::move(file), seed, size, 0, &pattern, std::move(done)}));
         });
}

void RemoveName(Connection& c, const Handle& dir, const std::string& name, Done done) {
  REMOVE3args args{};
  args.object.dir = Fh(dir);
  args.object.name = const_cast<char*>(name.c_str());
  c.Call(rpc_nfs3_remove_async, args,
         [&c, &name, done = std::move(done)](int status, void* result) {
           auto* res = static_cast<REMOVE3res*>(result);
           if (res == nullptr || res->status != NFS3_OK) {
             done({Failed("REMOVE " + name, c, status, res ? res->status : 0)});
             return;
           }
           done({});
         });
}

namespace {

struct Listing {
  Connection* c;
  Handle dir;
  std::optional<uint64_t> expected;
  uint64_t entries = 0;
  Done done;
};

void ListFrom(const std::shared_ptr<Listing>& l, cookie3 cookie, const char* verifier) {
  READDIRPLUS3args args{};
  args.dir = Fh(l->dir);
  args.cookie = cookie;
  std::memcpy(args.cookieverf, verifier, NFS3_COOKIEVERFSIZE);
  args.dircount = 8192;
  args.maxcount = 65536;
  l->c->Call(rpc_nfs3_readdirplus_async, args, [l](int status, void* result) {
    auto* res = static_cast<READDIRPLUS3res*>(result);
    if (res == nullptr || res->status != NFS3_OK) {
      l->done({Failed("READDIRPLUS", *l->c, status, res ? res->status : 0)});
      return;
    }
    const auto& ok = res->READDIRPLUS3res_u.resok;
    cookie3 last = 0;
    bool any = false;
    // libnfs packs decoded entries without regard to alignment: copy each
    // out before reading its fields.
    for (const entryplus3* at = ok.reply.entries; at != nullptr;) {
      entryplus3 e;
      std::memcpy(&e, at, sizeof e);
      any = true;
      last = e.cookie;
      if (std::strcmp(e.name, ".") != 0 && std::strcmp(e.name, "..") != 0) ++l->entries;
      at = e.nextentry;
    }
    if (!ok.reply.eof) {
      if (!any) {
        l->done({"READDIRPLUS: an empty page before the end"});
        return;
      }
      ListFrom(l, last, ok.cookieverf);
      return;
    }
    if (l->expected && *l->expected != l->entries) {
      l->done({"READDIRPLUS: listed " + std::to_string(l->entries) + " entries, expected " +
               std::to_string(*l->expected)});
      return;
    }
    l->done({{}, 0, l->entries});
  });
}

}  // namespace

void ListDirectory(Connection& c, const Handle& dir, std::optional<uint64_t> expected_entries,
                   Done done) {
  const char zero[NFS3_COOKIEVERFSIZE] = {};
  ListFrom(std::make_shared<Listing>(Listing{&c, dir, expected_entries, 0, std::move(done)}), 0,
           zero);
}

}  // namespace bench
