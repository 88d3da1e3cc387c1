_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['mcl_mm'], allow_failed_imports=False)
custom_hooks = [
    dict(type='MontageBatchCheckHook'),
    dict(type='NonFiniteLossHook'),
    # SIGTERM / SIGUSR1: a checkpoint at the next iteration, exit code 75
    dict(type='PreemptionHook'),
    # std / erank of the embeddings, on the iterations that log
    dict(type='CollapseMetricsHook'),
    # mixed precision's skipped steps and the grad norms, per log interval
    dict(type='SkippedStepsHook'),
    # unreadable images are skipped (LoadImageChecked); stop past 10
    dict(type='BadImageHook', max_bad_images=10),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
log_processor = dict(window_size=50)
# a rank that dies stops the others within this many seconds (the process
# group's timeout; mmengine's default is 30 min)
env_cfg = dict(dist_cfg=dict(timeout=600))
# scalars.json (LocalVisBackend) and TensorBoard event files, both under
# work_dir/<timestamp>/vis_data: `tensorboard --logdir work_dirs/...`
visualizer = dict(
    type='UniversalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
        dict(type='TensorboardVisBackend'),
    ])
