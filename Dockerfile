# The image of either app, chosen by the build argument APP. Build from the repository root
# (deploy.sh does this, under content tags from tools/src/image-hash.ts):
#   docker build --build-arg APP=initiator -t fast-ferry/initiator:dev .
#   docker build --build-arg APP=terminator -t fast-ferry/terminator:dev .
# Stages: deps installs all dependencies from the package manifests and the lock only; prod
# installs the app's production dependencies the same way; build compiles core, then the app;
# rootfs gathers node and the shared libraries it links against. The final image is FROM
# scratch: node, the compiled app and its production dependencies, no shell, no package
# manager, user 10001. Everything an app's hook edit touches comes last, so such an edit reruns
# only the app's compile step and the copy of its output.
# NODE_IMAGE: any Debian-based Node 20 image (the official one by default).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG APP
ARG APP_MISSING="the build argument APP is missing: docker build --build-arg APP=initiator (or APP=terminator) ."

# The classic builder runs every stage in order, so this check fails a wrong APP first; BuildKit
# skips it and refuses a missing APP at the last FROM (an unknown name there is an image it cannot pull).
FROM ${NODE_IMAGE} AS check
ARG APP
RUN case "${APP}" in initiator|terminator) ;; \
      *) echo "APP=\"${APP}\": the build argument APP must be initiator or terminator (docker build --build-arg APP=initiator .)" >&2; exit 1 ;; \
    esac

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
ENV npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# Manifests only, so this layer is reused until a package.json or the lock changes.
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY initiator/app/package.json initiator/app/
COPY terminator/app/package.json terminator/app/
COPY tools/package.json tools/
RUN npm ci --ignore-scripts

# Production dependencies of this app only (@fast-ferry/core stays a workspace symlink).
FROM deps AS prod
ARG APP
RUN mkdir -p /prod/core /prod/initiator/app /prod/terminator/app /prod/tools \
 && for f in package.json package-lock.json core/package.json initiator/app/package.json \
             terminator/app/package.json tools/package.json; do cp "$f" "/prod/$f"; done \
 && cd /prod && npm ci --omit=dev --ignore-scripts --workspace "${APP}/app"

FROM deps AS build
ARG APP
COPY tsconfig.base.json ./
COPY core/tsconfig.json core/
COPY core/src core/src
RUN node_modules/.bin/tsc -b core
COPY ${APP}/app ${APP}/app
RUN node_modules/.bin/tsc -b "${APP}/app"

FROM ${NODE_IMAGE} AS rootfs
# node, every shared library it links against, and the loader; a passwd with the app user.
RUN set -eu; node_bin="$(command -v node)"; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/tmp /rootfs/app; chmod 1777 /rootfs/tmp; \
    cp "$node_bin" /rootfs/usr/local/bin/node; \
    for lib in $(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do \
      mkdir -p "/rootfs$(dirname "$lib")"; cp -L "$lib" "/rootfs$lib"; \
    done; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:10001:10001:app:/app:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\napp:x:10001:\nnogroup:x:65534:\n' > /rootfs/etc/group; \
    echo 'hosts: files dns' > /rootfs/etc/nsswitch.conf

FROM scratch AS runtime
ARG APP
COPY --from=rootfs /rootfs/ /
WORKDIR /app
COPY --from=deps /src/package.json ./
COPY --from=prod /prod/node_modules ./node_modules
COPY --from=deps /src/core/package.json ./core/
COPY --from=build /src/core/dist ./core/dist
COPY --from=deps /src/${APP}/app/package.json ./${APP}/app/
COPY --from=build /src/${APP}/app/dist ./${APP}/app/dist
ENV PATH=/usr/local/bin NODE_ENV=production
USER 10001:10001
EXPOSE 8080

# What differs between the apps. NODE_OPTIONS pins V8's young generation (its default follows
# the pod's memory limit); the command line starts the old generation's limit at 64 MiB, a flag
# Node refuses in NODE_OPTIONS (tools/src/node-options.ts says why, with figures;
# tools/test/node-options.test.ts holds these values to that table).
FROM runtime AS initiator
ENV NODE_OPTIONS=--max-semi-space-size=16
# POST /trigger (http.triggerPort); 8080 serves the probes and /metrics.
EXPOSE 8081
CMD ["/usr/local/bin/node", "--initial-old-space-size=64", "initiator/app/dist/app.js"]

FROM runtime AS terminator
ENV NODE_OPTIONS=--max-semi-space-size=8
EXPOSE 8443
CMD ["/usr/local/bin/node", "--initial-old-space-size=64", "terminator/app/dist/app.js"]

FROM ${APP:?$APP_MISSING}
