"""GPT Image Edit explorer, in layers (each imports only those below it; `make test` checks):

    ui/        the Gradio app: tabs, handlers, the /edit endpoint, every user-facing sentence
    app/       services: settings, backends, quotas, runs, history, the edit service, snippets
    media/     Pillow work: reading and checking images and masks
    api/       the Segmind client: schema, transport, errors, jobs, polling (no UI, no app)
    emulator/  a local Segmind over HTTP; shares only api/schema.py with the client
"""
