"""Side-by-side benchmark: our models, CBM3D and OpenCV non-local means on the same noisy images.

    python -m model.benchmark [--quick] [--output docs/benchmark.md] [--sets ...] [--sigmas ...]
        [--methods default,auto,seed,ffdnet,nlm,cbm3d] [--real-sets CC15 Nam25] [--extra-model NAME ...]
        [--protocols float,8bit] [--limit N] [--threads N]

Every method denoises every noisy image once per protocol; the noisy images
follow the README protocol (see :mod:`model.evaluate`), so all methods see the
same noise. Methods run one after another, fastest first and CBM3D last; after
each method the markdown and JSON files are rewritten, marked partial until
the run ends, so a long run that is stopped still leaves its finished methods.
Progress goes to stderr; the final markdown also goes to stdout.

The JSON file (same name as the markdown, ``.json``) holds every number the
markdown shows plus per-image scores; :func:`markdown.render_markdown`
rebuilds the markdown from it alone.

Modules, each importing only those above it:

- :mod:`methods`: the methods compared (our models, FFDNet, CBM3D, NLM and its tuning);
- :mod:`running`: one method over every set, sigma and protocol, with stored scores;
- :mod:`records`: the report's JSON-able records and the run's context;
- :mod:`markdown`: the report as markdown;
- :mod:`command`: the command line.
"""
