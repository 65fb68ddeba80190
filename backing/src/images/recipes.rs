//! The recipes: the Debian base and the MariaDB, Redis and MongoDB-wire (SecantusDB) images
//! built from it, as Rust text (their tags hash this text).

use super::{Build, ContextFiles, Recipe};

/// Trims a debootstrap tree so it can be imported as an image (environment.md §1): caches,
/// docs, man pages and non-English locales go; the host's apt sources (with -updates and
/// -security) come in; apt gets the settings the official Debian images ship.
pub const SLIM_SCRIPT: &str = r#"#!/bin/sh
# slim ROOTFS : make a debootstrap tree fit to be `docker import`ed
set -eu
R="$1"
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/* \
       "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* \
       "$R"/var/log/*.log "$R"/var/log/apt/* "$R"/tmp/* "$R"/var/tmp/*
find "$R"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'en*' ! -name locale.alias -exec rm -rf {} +
: > "$R"/etc/resolv.conf
rm -f "$R"/etc/hostname
# the host's mirror, with -updates and -security (debootstrap only wrote the main suite)
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  rm -f "$R"/etc/apt/sources.list
  cp /etc/apt/sources.list.d/debian.sources "$R"/etc/apt/sources.list.d/
fi
cat > "$R"/etc/apt/apt.conf.d/docker-clean <<'S'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
S
echo 'Acquire::Languages "none";' > "$R"/etc/apt/apt.conf.d/docker-no-languages
echo 'Acquire::GzipIndexes "true";' > "$R"/etc/apt/apt.conf.d/docker-gzip-indexes
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$R"/etc/apt/apt.conf.d/90norecommends
printf '#!/bin/sh\nexit 101\n' > "$R"/usr/sbin/policy-rc.d && chmod +x "$R"/usr/sbin/policy-rc.d
"#;

/// MariaDB 10.11 (Debian's MySQL) on the base image (environment.md §3): a TCP user `test` /
/// `test` with every privilege, created by an init file; an 8 MiB redo log; port 3306.
pub const MARIADB_DOCKERFILE: &str = r#"FROM {{FROM}}
RUN apt-get update \
 && apt-get install -y mariadb-server \
 && rm -rf /var/lib/apt/lists/* /var/lib/mysql/* \
 && mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld \
 && printf '[mariadbd]\nbind-address = 0.0.0.0\nskip-name-resolve\ninnodb_log_file_size = 8M\ninnodb_buffer_pool_size = 64M\ninit-file = /etc/mysql/init.sql\n' \
      > /etc/mysql/mariadb.conf.d/99-container.cnf \
 && printf "CREATE USER IF NOT EXISTS 'test'@'%%' IDENTIFIED BY 'test';\nGRANT ALL ON *.* TO 'test'@'%%' WITH GRANT OPTION;\nCREATE DATABASE IF NOT EXISTS test;\n" \
      > /etc/mysql/init.sql \
 && mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db > /dev/null
EXPOSE 3306
USER mysql
CMD ["mariadbd"]
"#;

/// Debian bookworm, minimal, trimmed (about 74 MB).
pub static BASE: Recipe = Recipe {
    repository: "local/mockvideo-base",
    expected_build: "30-90 s",
    build: Build::Debootstrap {
        suite: "bookworm",
        variant: "minbase",
        slim_script: SLIM_SCRIPT,
        changes: &[r#"CMD ["/bin/bash"]"#, "ENV LANG=C.UTF-8"],
    },
};

/// MariaDB 10.11 with the `test`/`test` TCP user (about 370 MB).
pub static MARIADB: Recipe = Recipe {
    repository: "local/mockvideo-mariadb",
    expected_build: "10-60 s",
    build: Build::Dockerfile {
        from: &BASE,
        dockerfile: MARIADB_DOCKERFILE,
        context: &[],
    },
};

/// Redis 7.0 (Debian's `redis-server`) on the base image (environment.md §2): listens on every
/// interface of the container without protected mode, runs as `redis` in `/var/lib/redis` (where
/// an append-only file goes when the server is started with `--appendonly yes`); port 6379.
pub const REDIS_DOCKERFILE: &str = r#"FROM {{FROM}}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /var/lib/redis
EXPOSE 6379
USER redis
CMD ["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0"]
"#;

/// Redis 7.0 (about 89 MB).
pub static REDIS: Recipe = Recipe {
    repository: "local/mockvideo-redis",
    expected_build: "4-20 s",
    build: Build::Dockerfile {
        from: &BASE,
        dockerfile: REDIS_DOCKERFILE,
        context: &[],
    },
};

/// The SecantusDB release the MongoDB-wire image runs (PyPI `secantusdb`, a cp311 wheel).
pub const SECANTUSDB_REQUIREMENT: &str = "secantusdb==0.7.0b3";

/// A MongoDB-wire server on the base image, for where `mongo:7` cannot be pulled
/// (environment.md, "MongoDB here"): SecantusDB (`secantusd-py`, WiredTiger storage) in a venv
/// of Debian's Python 3.11, installed from wheels downloaded on the host (no network needed in
/// the build), running as `secantus` with its data in `/var/lib/secantusdb/data`; port 27017.
pub const MONGO_DOCKERFILE: &str = r#"FROM {{FROM}}
COPY wheels /tmp/wheels
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/secantusdb \
 && /opt/secantusdb/bin/pip install --no-index --no-cache-dir --disable-pip-version-check \
      --find-links /tmp/wheels secantusdb \
 && rm -rf /tmp/wheels \
 && useradd --system --home-dir /var/lib/secantusdb --create-home secantus \
 && mkdir -p /var/lib/secantusdb/data && chown -R secantus /var/lib/secantusdb
WORKDIR /var/lib/secantusdb
EXPOSE 27017
USER secantus
CMD ["/opt/secantusdb/bin/secantusd-py", "--host", "0.0.0.0", "--port", "27017", "--storage-path", "/var/lib/secantusdb/data"]
"#;

/// SecantusDB, a MongoDB-wire server (about 290 MB).
pub static MONGO: Recipe = Recipe {
    repository: "local/mockvideo-mongo",
    expected_build: "20-90 s",
    build: Build::Dockerfile {
        from: &BASE,
        dockerfile: MONGO_DOCKERFILE,
        context: &[ContextFiles::PipWheels {
            dir: "wheels",
            requirements: &[SECANTUSDB_REQUIREMENT],
            python_version: "3.11",
            platforms: &["manylinux_2_28_x86_64", "manylinux2014_x86_64"],
        }],
    },
};

/// Every recipe, parents before children (for `cargo xtask bootstrap` / `doctor`).
pub static RECIPES: [&Recipe; 4] = [&BASE, &MARIADB, &REDIS, &MONGO];

/// User and password of the TCP user the [`MARIADB`] image creates.
pub const MARIADB_CREDENTIALS: (&str, &str) = ("test", "test");
