# bvh_leakfree_addon — developer entry points. Everything sets itself up on first use.
#   make demo        build, install into a throwaway Blender user dir, run the add-on on a demo scene
#   make test        the whole suite on Blender 4.2 LTS, 4.5 LTS (Python 3.11), 5.2 LTS and 5.3
#                    (Python 3.13), the PyPI bpy wheels; VERSIONS="5.0" etc. to pick others
#   make test-fast   the suite on Blender 5.3 only
#   make dist        dist/bvh_leakfree_addon-<version>[-<platform>].zip: one zip per platform with
#                    its Embree wheel, and one without wheels; built and validated by Blender's tool
#   make test-no-embree  the suite on Blender 5.3 with the Embree backend hidden (BVH_LEAKFREE_EMBREE=0)
#   make wheel       dist/bvh_leakfree_addon-<version>-py3-none-any.whl (the script API for pip)
#   make test-examples  docs/pipelines.md's examples in a fresh venv: bpy, numpy and the wheel only
#   make test-blender-b BLENDER="blender"   the guide's examples under `blender -b --python`
#   make bench       benchmarks (BENCH_VERSIONS="5.3" to pick versions)
#   make test-gui BLENDER="blender"   GUI acceptance in a real windowed Blender
#   make test-zip-install BLENDER="blender"   this platform's zip installs, enables and casts with
#                    Embree in that Blender (any build, any Python it has a wheel for)
#   make docs        build/docs/api/: the API reference (pdoc) of bvh_leakfree_addon.api and
#                    .blenderproc_compat, generated from the docstrings, offline
#   make lint        ruff (pinned in requirements/dev.txt); make test runs it first

# Build tools (wheel, docs figures) run on any Python >= 3.11; each Blender's venv uses the CPython
# its bpy wheel is built for (tools/find_python.sh finds it, or says in one line how to get it).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VERSIONS ?= 4.2 4.5 5.2 5.3
FAST_VERSION ?= 5.3
# The CPython of each Blender module: 4.x and 5.0 on 3.11, 5.1 and later on 3.13.
python_of = $(if $(filter 4.% 5.0,$(1)),3.11,3.13)
BENCH_VERSIONS ?= $(VERSIONS)
VENV_DIR := .venv
WHEELHOUSE ?= $(HOME)/.cache/bvh_leakfree_addon/wheels
ADDON_VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' blender_manifest.toml)
ZIP := dist/bvh_leakfree_addon-$(ADDON_VERSION).zip
WHEEL := dist/bvh_leakfree_addon-$(ADDON_VERSION)-py3-none-any.whl
SOURCES := blender_manifest.toml $(shell find bvh_leakfree_addon -name '*.py' -o -name '*.toml' 2>/dev/null)
# Narrow a run: make test TESTS=tests/core/test_api.py, TESTS="tests/core/test_api.py::test_x",
# PYTEST_ARGS="-k cursor -x".
TESTS ?= tests
PYTEST_ARGS ?=

venv_python = $(VENV_DIR)/$(if $(filter dev pipeline,$(1)),$(1),bpy-$(1))/bin/python
# $(call pip_install,<blender version>,<requirements file>[,<pip options>]): fill the wheelhouse
# when an index is reachable, then install from the wheelhouse only (so later set-ups work offline).
define pip_install
	@mkdir -p $(WHEELHOUSE)
	-$(call venv_python,$(1)) -m pip download -q $(3) -d $(WHEELHOUSE) -r $(2) \
	  || echo "(no package index reachable: installing from $(WHEELHOUSE))"
	$(call venv_python,$(1)) -m pip install -q $(3) --no-index --find-links $(WHEELHOUSE) -r $(2)
endef

.PHONY: all dist wheel demo docs lint test test-fast test-no-embree test-examples test-blender-b bench \
	test-gui test-zip-install docs-screenshots venvs clean
all: test

# pdoc for the API reference (make docs) and its test, in the 5.3 venv
DOCS_STAMP := $(VENV_DIR)/bpy-$(FAST_VERSION)/.docs-installed

# One virtual environment per Blender version, from requirements/bpy-<version>.txt.
# Wheels are kept in a wheelhouse so a later run works without network.
$(VENV_DIR)/bpy-%/.installed: requirements/bpy-%.txt
	@echo "== setting up Blender $* environment in $(VENV_DIR)/bpy-$* (first run downloads ~400 MB)"
	@rm -rf $(VENV_DIR)/bpy-$*
	@py=$$(tools/find_python.sh $(call python_of,$*) $*) && $$py -m venv $(VENV_DIR)/bpy-$*
	$(call pip_install,$*,$<)
	@touch $@

venvs: $(foreach v,$(VERSIONS),$(VENV_DIR)/bpy-$(v)/.installed)

# BlenderProc 2.8.0, the reference of the BlenderProc drop-ins' tests and benchmark, added to a
# Blender venv with --no-deps (requirements/blenderproc.txt lists what its modules import).
BLENDERPROC_STAMP = $(VENV_DIR)/bpy-$(1)/.blenderproc-installed
$(VENV_DIR)/bpy-%/.blenderproc-installed: requirements/blenderproc.txt $(VENV_DIR)/bpy-%/.installed
	@echo "== installing BlenderProc 2.8.0 (the drop-ins' reference) into $(VENV_DIR)/bpy-$*"
	$(call pip_install,$*,$<,--no-deps)
	@touch $@

# The linter lives in a small venv of its own (no Blender needed).
$(VENV_DIR)/dev/.installed: requirements/dev.txt
	@rm -rf $(VENV_DIR)/dev
	$(PYTHON) -m venv $(VENV_DIR)/dev
	$(call pip_install,dev,$<)
	@touch $@

lint: $(VENV_DIR)/dev/.installed
	$(VENV_DIR)/dev/bin/ruff check bvh_leakfree_addon tests tools examples

# The wheels the extension bundles (blender_manifest.toml `wheels`: one per platform and CPython),
# each fetched into the wheelhouse when missing, for the CPython, ABI and platform its name gives;
# pip checks the hashes of requirements/addon-wheels.txt, and so does tools/build_dist.py.
ADDON_WHEELS := $(notdir $(shell sed -n 's|^ *"\(\./wheels/[^"]*\.whl\)".*|\1|p' blender_manifest.toml))
ADDON_WHEELS_STAMP := build/.addon-wheels
$(ADDON_WHEELS_STAMP): requirements/addon-wheels.txt blender_manifest.toml $(VENV_DIR)/bpy-$(FAST_VERSION)/.installed
	@mkdir -p $(WHEELHOUSE) build
	@for w in $(ADDON_WHEELS); do \
	  [ -f "$(WHEELHOUSE)/$$w" ] && continue; \
	  py=$$(echo "$$w" | cut -d- -f3); plat=$$(echo "$${w%.whl}" | cut -d- -f5 | tr . '\n' | tail -n 1); \
	  $(call venv_python,$(FAST_VERSION)) -m pip download -q --only-binary=:all: --no-deps \
	    --python-version "$${py#cp}" --implementation cp --abi "$$py" --platform "$$plat" \
	    -d $(WHEELHOUSE) -r $< \
	  || echo "(no package index reachable: $$w must already be in $(WHEELHOUSE))"; \
	done
	@touch $@

$(ZIP): $(SOURCES) tools/build_dist.py $(ADDON_WHEELS_STAMP) $(VENV_DIR)/bpy-$(FAST_VERSION)/.installed
	$(call venv_python,$(FAST_VERSION)) tools/build_dist.py --output $(ZIP) --wheelhouse $(WHEELHOUSE)

dist: $(ZIP)

# The Python distribution (pip): built by the project's own PEP 517 backend, stdlib only.
$(WHEEL): $(SOURCES) pyproject.toml LICENSE README.md tools/build_wheel.py
	$(PYTHON) tools/build_wheel.py --output-dir dist

wheel: $(WHEEL)

demo: $(ZIP)
	$(call venv_python,$(FAST_VERSION)) tools/demo.py --zip $(ZIP)

test: lint $(ZIP) venvs $(VENV_DIR)/bpy-$(FAST_VERSION)/.bench-installed $(DOCS_STAMP) \
	$(foreach v,$(VERSIONS),$(call BLENDERPROC_STAMP,$(v)))
	@set -e; for v in $(VERSIONS); do \
	  echo "== pytest on Blender $$v"; \
	  BVH_ADDON_ZIP=$(abspath $(ZIP)) $(call venv_python,$$v) -m pytest $(TESTS) $(PYTEST_ARGS); \
	done
	@echo "== pytest on Blender $(FAST_VERSION) with the Embree backend hidden"
	@$(MAKE) --no-print-directory test-no-embree
	@$(MAKE) --no-print-directory test-examples

test-fast: $(ZIP) $(VENV_DIR)/bpy-$(FAST_VERSION)/.installed $(VENV_DIR)/bpy-$(FAST_VERSION)/.bench-installed \
	$(call BLENDERPROC_STAMP,$(FAST_VERSION))
	BVH_ADDON_ZIP=$(abspath $(ZIP)) $(call venv_python,$(FAST_VERSION)) -m pytest $(TESTS) $(PYTEST_ARGS)

# The pipeline guide (docs/pipelines.md) runs as printed in an environment of its own holding
# nothing but bpy (with its dependencies) and numpy from requirements/pipeline.txt, and the wheel
# installed as a user would: the examples import the installed package, never this checkout.
PIPELINE_STAMP := $(VENV_DIR)/pipeline/.installed
$(PIPELINE_STAMP): requirements/pipeline.txt
	@echo "== setting up the pipeline environment in $(VENV_DIR)/pipeline (bpy, numpy, the wheel)"
	@rm -rf $(VENV_DIR)/pipeline
	@py=$$(tools/find_python.sh 3.13 "5.3 (the pipeline guide's examples)") && $$py -m venv $(VENV_DIR)/pipeline
	$(call pip_install,pipeline,$<)
	@touch $@

test-examples: $(WHEEL) $(PIPELINE_STAMP)
	$(call venv_python,pipeline) -m pip uninstall -q -y bvh_leakfree_addon
	$(call venv_python,pipeline) -m pip install -q --no-index --find-links $(WHEELHOUSE) $(WHEEL)
	$(call venv_python,pipeline) tools/run_doc_examples.py docs/pipelines.md \
	  --allow requirements/pipeline.txt

# The guide's examples under `blender -b --python` with any Blender: the wheel unpacked into a
# folder that --python-expr puts on sys.path, as docs/pipelines.md shows (Blender brings numpy).
test-blender-b: $(WHEEL)
	@rm -rf build/blender-b && mkdir -p build/blender-b
	$(PYTHON) -m zipfile -e $(WHEEL) build/blender-b/site
	$(PYTHON) tools/run_doc_examples.py docs/pipelines.md --extract build/blender-b/examples
	@set -e; for example in loop dropin; do \
	  echo "== blender -b: docs/pipelines.md example $$example"; \
	  $(BLENDER) -b --factory-startup --python-exit-code 3 \
	    --python-expr "import sys; sys.path.append('build/blender-b/site')" \
	    --python build/blender-b/examples/$$example.py; \
	done

# The whole suite as it runs where embreex is missing (the Embree tests skip, 'auto' is mathutils).
test-no-embree: $(ZIP) $(VENV_DIR)/bpy-$(FAST_VERSION)/.installed $(VENV_DIR)/bpy-$(FAST_VERSION)/.bench-installed \
	$(call BLENDERPROC_STAMP,$(FAST_VERSION))
	BVH_LEAKFREE_EMBREE=0 BVH_ADDON_ZIP=$(abspath $(ZIP)) \
	  $(call venv_python,$(FAST_VERSION)) -m pytest $(TESTS) $(PYTEST_ARGS)

# Benchmarks (the package tools/bench/, run as `python tools/bench`): one table +
# bench-results/bpy-<v>.json per version, then the chart
# docs/bench.png.  BENCH_ARGS="--only cold,rays" or "--tiny" to narrow a run.
BENCH_ARGS ?=
BENCH_STAMP := $(VENV_DIR)/bpy-$(FAST_VERSION)/.bench-installed
$(BENCH_STAMP): requirements/bench.txt $(VENV_DIR)/bpy-$(FAST_VERSION)/.installed
	@echo "== installing the chart's requirements (matplotlib) into $(VENV_DIR)/bpy-$(FAST_VERSION)"
	$(call pip_install,$(FAST_VERSION),$<)
	@touch $@

bench: $(ZIP) $(foreach v,$(BENCH_VERSIONS),$(VENV_DIR)/bpy-$(v)/.installed) $(BENCH_STAMP) \
	$(foreach v,$(BENCH_VERSIONS),$(call BLENDERPROC_STAMP,$(v)))
	@mkdir -p bench-results docs
	@set -e; for v in $(BENCH_VERSIONS); do \
	  echo "== benchmarks on Blender $$v"; \
	  $(call venv_python,$$v) tools/bench --zip $(abspath $(ZIP)) \
	    --out bench-results/bpy-$$v.json $(BENCH_ARGS); \
	done
	$(call venv_python,$(FAST_VERSION)) tools/bench_chart.py \
	  $(foreach v,$(BENCH_VERSIONS),bench-results/bpy-$(v).json) docs/bench.png
	@if [ -z "$(BENCH_ARGS)" ] && [ "$(BENCH_VERSIONS)" = "$(VERSIONS)" ]; then \
	  $(PYTHON) tools/docs_figures.py --update README.md docs/benchmarks.md docs/embree.md docs/leak-hunting.md docs/pipelines.md; fi

# The API reference: pdoc (requirements/docs.txt, installed into the 5.3 venv: the modules import
# bpy) renders the public modules' docstrings; tools/api_docs.py holds the rules a test enforces.
$(DOCS_STAMP): requirements/docs.txt $(VENV_DIR)/bpy-$(FAST_VERSION)/.installed
	$(call pip_install,$(FAST_VERSION),$<)
	@touch $@

docs: $(DOCS_STAMP)
	@rm -rf build/docs/api
	$(call venv_python,$(FAST_VERSION)) -m pdoc --docformat google --no-show-source \
	  --output-directory build/docs/api bvh_leakfree_addon.api bvh_leakfree_addon.blenderproc_compat
	@echo "API reference: build/docs/api/index.html"

BLENDER ?= blender
# GUI_SHOTS: where the screenshots go (FAILED.png: the screen when a run fails); GUI_ARGS: more
# driver options (--partial: without X input or ImageMagick, run what needs neither).
GUI_SHOTS ?= gui-shots
GUI_ARGS ?=
test-gui: $(ZIP)
	$(PYTHON) tools/gui_site.py --blender "$(BLENDER)" --out build/gui-site
	$(BLENDER) --factory-startup --python-exit-code 3 --python tests/gui/driver.py -- \
	  --zip $(ZIP) --shots $(GUI_SHOTS) --site build/gui-site $(GUI_ARGS)

# This platform's zip installed by Blender's own installer, enabled, and casting with Embree (the
# wheel for that Blender's Python), and the wheel-less zip with mathutils, in any Blender: official
# or a distribution's (e.g. BLENDER="bash ../shared/tools/blender-gui").  Each check runs in a
# throwaway Blender user folder (tools/check_zip_in_blender.py); paths stay relative to this folder.
HOST := $(shell uname -s)-$(shell uname -m)
ZIP_PLATFORM := $(or $(if $(filter Linux-x86_64,$(HOST)),linux_x64), \
  $(if $(filter Darwin-x86_64,$(HOST)),macos_x64),$(if $(filter Darwin-arm64,$(HOST)),macos_arm64), \
  $(if $(filter MINGW%-x86_64 MSYS%-x86_64 CYGWIN%-x86_64,$(HOST)),windows_x64))
test-zip-install: $(ZIP)
	@set -e; for check in $(if $(ZIP_PLATFORM),"$(ZIP:.zip=-$(ZIP_PLATFORM).zip) embree") \
	    "$(ZIP) mathutils"; do \
	  set -- $$check; echo "== $$1 in $(BLENDER)"; \
	  $(BLENDER) -b --factory-startup --python-exit-code 3 --python tools/check_zip_in_blender.py \
	    -- --zip $$1 --expect $$2; \
	done

# Run the GUI acceptance test and refresh the pictures the README and docs/ show (only those).
docs-screenshots: test-gui
	@mkdir -p docs/screenshots
	for f in $$(grep -ho 'screenshots/[0-9A-Za-z_]*\.png' README.md docs/*.md | sort -u); do \
	  cp gui-shots/$${f#screenshots/} docs/screenshots/; done

clean:
	rm -rf dist build .pytest_cache
