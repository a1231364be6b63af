"""A U-Net generator rewritten for CPU inference: the same drawing in less time per call.

Timed layer by layer on the bundled `default` (bf16, batch 1, 256 px), the plain network spent
most of a call outside arithmetic:
- oneDNN reorders every conv's weight into its blocked layout on every call; on the inner maps
  (16 px and less) that costs several times the convolution itself (why `small_maps.py` runs
  them as matrix products). Reordered once at load (oneDNN's own prepacked weights, as
  torch.compile's freezing does), the convs of those maps run 3 to 10 times faster than either;
- instance norm (and batch norm at test time with each image's statistics) reshapes its input
  to one batch of N*C channels and hands back plain NCHW: every layer after the first norm ran
  outside channels_last, with a reorder around every conv. Batch norm over one image is the
  same computation and keeps channels_last;
- autocast casts the 13.6M fp32 weights to bf16 on every call;
- the last transposed conv, with 3 output channels, runs several times slower than its
  arithmetic in oneDNN's deconvolution: as one stride-1 conv into its four sub-pixel kernels
  (tanh fused) and one interleaving copy it costs about a third.
What is left is the convolutions themselves, at about the CPU's bf16 peak. `fast_unet` builds
an inference-only copy without the four costs; it runs the plain network's own forward with
its modules swapped. The plain network is untouched: checkpoint keys, training, ONNX export
and the loaders stay as they are. `python bench/generator_latency.py` times before and after.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.layers import ImageStatsBatchNorm2d

DTYPES = (torch.float32, torch.bfloat16)
SUBPIXEL_MAX_CHANNELS = 8  # transposed convs this narrow take the sub-pixel path (the last layer)


def prepacking_available() -> bool:
    """oneDNN's prepacked-weight convolutions (torch's CPU builds with mkldnn)."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


class PackedConv(nn.Module):
    """A Conv2d or ConvTranspose2d whose weight is cast to the compute dtype and reordered into
    oneDNN's blocked layout once, for inputs of `input_size` (other sizes and batches still
    compute the same, with a reorder). `post`: an activation oneDNN applies as it writes
    ('none', 'tanh', ...). Without oneDNN, the plain conv on the pre-cast weight."""

    def __init__(
        self,
        conv: nn.Conv2d | nn.ConvTranspose2d,
        dtype: torch.dtype,
        input_size: list[int],
        post: str = "none",
    ) -> None:
        super().__init__()
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self.post = post
        padding, stride, dilation = list(conv.padding), list(conv.stride), list(conv.dilation)
        output_padding = list(conv.output_padding) if self.transposed else []
        # the arguments after (input, weight, bias) of oneDNN's op and of the plain conv
        self.onednn_args = (
            padding,
            *([output_padding] if self.transposed else []),
            stride,
            dilation,
            conv.groups,
        )
        self.plain_args = (
            stride,
            padding,
            *([output_padding, conv.groups, dilation] if self.transposed else [dilation, conv.groups]),
        )
        weight = conv.weight.detach().to(dtype).contiguous(memory_format=torch.channels_last)
        self.bias = None if conv.bias is None else conv.bias.detach().to(dtype)
        self.packed = prepacking_available()
        if not self.packed:
            self.weight = weight
        elif self.transposed:
            self.weight = torch.ops.mkldnn._reorder_convolution_transpose_weight(
                weight, *self.onednn_args, input_size
            )
        else:
            self.weight = torch.ops.mkldnn._reorder_convolution_weight(weight, *self.onednn_args, input_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed:
            op = (
                torch.ops.mkldnn._convolution_transpose_pointwise
                if self.transposed
                else torch.ops.mkldnn._convolution_pointwise
            )
            return op(x, self.weight, self.bias, *self.onednn_args, self.post, [], "")
        conv = F.conv_transpose2d if self.transposed else F.conv2d
        y = conv(x, self.weight, self.bias, *self.plain_args)
        return torch.tanh(y) if self.post == "tanh" else y


class ChannelsLastInstanceNorm(nn.Module):
    """Instance norm (optionally with a learned scale and shift) that keeps channels_last: for
    one image, instance norm is batch norm with the batch's statistics, whose CPU kernel reads
    and writes channels_last in place (fast on every map size, unlike group norm's, and with the
    same two-pass statistics as instance norm's); a batch goes image by image. Parameters stay
    in fp32, as autocast leaves them."""

    def __init__(self, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float) -> None:
        super().__init__()
        self.weight = None if weight is None else weight.detach().float()
        self.bias = None if bias is None else bias.detach().float()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) > 1:
            return torch.cat([self(image) for image in x.split(1)])
        return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


class SignBitReLU(nn.Module):
    """ReLU on bf16 as the integer max(bits, 0): a bf16 number is negative exactly when its 16
    bits are as an int16, so clearing those is ReLU, bit for bit, at several times the speed of
    the float kernel (which converts every element to fp32 and back). Other dtypes: ReLU."""

    def __init__(self, inplace: bool) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.bfloat16:
            return F.relu(x, self.inplace)
        bits = x.view(torch.int16)
        return (bits.clamp_min_(0) if self.inplace else bits.clamp_min(0)).view(torch.bfloat16)


def subpixel_weight(weight: torch.Tensor) -> torch.Tensor:
    """[c_in, c_out, 4, 4] of a stride-2 pad-1 transposed conv -> [4*c_out, c_in, 2, 2] of the
    stride-1 conv of its input padded by 1, whose output channel (2a+b)*c_out + c at (m+a, p+b)
    is the transposed conv's channel c at (2m+a, 2p+b). Output row 2m+a draws on input rows m-1
    and m (taps 3, 1) for a=0, on m and m+1 (taps 2, 0) for a=1; columns alike."""
    taps = ((3, 1), (2, 0))
    blocks = [
        weight[:, :, list(taps[a]), :][:, :, :, list(taps[b])].transpose(0, 1) for a in (0, 1) for b in (0, 1)
    ]
    return torch.cat(blocks, 0).contiguous()


class SubpixelConvTranspose2d(nn.Module):
    """A 4x4 stride-2 pad-1 transposed conv as one stride-1 2x2 conv (padding 1) into its four
    sub-pixel kernels, then one strided copy that interleaves them into the doubled map, in
    plain NCHW (the layout the last layer's output is handed back in)."""

    def __init__(self, up: nn.ConvTranspose2d, dtype: torch.dtype, input_size: list[int], post: str) -> None:
        super().__init__()
        self.out_channels = up.out_channels
        conv = nn.Conv2d(up.in_channels, 4 * up.out_channels, 2, padding=1, bias=up.bias is not None)
        with torch.no_grad():
            conv.weight.copy_(subpixel_weight(up.weight.detach()))
            if up.bias is not None:
                conv.bias.copy_(up.bias.detach().repeat(4))
        self.conv = PackedConv(conv, dtype, input_size, post)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        c = self.out_channels
        y = self.conv(x).contiguous(memory_format=torch.channels_last)
        sn, _, sh, sw = y.stride()  # channels_last: the channel stride is 1
        # out[n, ch, 2m+a, 2p+b] = y[n, (2a+b)*c + ch, m+a, p+b]
        src = y.as_strided((n, c, h, 2, w, 2), (sn, 1, sh, sh + 2 * c, sw, sw + c))
        return torch.empty(n, c, h, 2, w, 2, dtype=y.dtype).copy_(src).view(n, c, 2 * h, 2 * w)


def takes_subpixel_path(module: nn.Module) -> bool:
    return (
        isinstance(module, nn.ConvTranspose2d)
        and module.kernel_size == (4, 4)
        and module.stride == (2, 2)
        and module.padding == (1, 1)
        and module.output_padding == (0, 0)
        and module.groups == 1
        and module.dilation == (1, 1)
        and module.out_channels <= SUBPIXEL_MAX_CHANNELS
    )


def packable(module: nn.Module) -> bool:
    return (
        isinstance(module, (nn.Conv2d, nn.ConvTranspose2d))
        and module.padding_mode == "zeros"
        and isinstance(module.padding, tuple)
    )


def instance_norm_of(module: nn.Module) -> ChannelsLastInstanceNorm | None:
    """The channels_last replacement of a norm that uses each image's own statistics."""
    per_image = type(module) is ImageStatsBatchNorm2d or (
        isinstance(module, nn.InstanceNorm2d) and not module.track_running_stats
    )
    return ChannelsLastInstanceNorm(module.weight, module.bias, module.eps) if per_image else None


def swap_modules(parent: nn.Module, dtype: torch.dtype, sizes: dict[nn.Module, list[int]]) -> None:
    """Replace `parent`'s children (recursively) by their fast forms; a transposed conv directly
    followed by Tanh in a Sequential takes the tanh into its conv."""
    children = list(parent.named_children())
    for i, (name, child) in enumerate(children):
        fused_tanh = (
            isinstance(parent, nn.Sequential)
            and i + 1 < len(children)
            and isinstance(children[i + 1][1], nn.Tanh)
        )
        new: nn.Module | None = instance_norm_of(child)
        if type(child) is nn.ReLU:
            new = SignBitReLU(child.inplace)
        if new is None and child in sizes and packable(child):
            post = "tanh" if fused_tanh else "none"
            if takes_subpixel_path(child):
                new = SubpixelConvTranspose2d(child, dtype, sizes[child], post)
            else:
                new = PackedConv(child, dtype, sizes[child], post)
            if fused_tanh:
                setattr(parent, children[i + 1][0], nn.Identity())
        if new is not None:
            setattr(parent, name, new)
        elif not isinstance(child, (nn.Conv2d, nn.ConvTranspose2d)):
            swap_modules(child, dtype, sizes)
        else:
            child.to(dtype)  # a conv seen by no input (never run by the forward) or not packable


def input_sizes(net: nn.Module, example: torch.Tensor, *args) -> dict[nn.Module, list[int]]:
    """Each conv's input size on `example` (one fp32 forward)."""
    sizes: dict[nn.Module, list[int]] = {}

    def record(module: nn.Module, inputs: tuple) -> None:
        sizes.setdefault(module, list(inputs[0].shape))

    hooks = [
        m.register_forward_pre_hook(record)
        for m in net.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    try:
        with torch.inference_mode():
            net(example, *args)
    finally:
        for hook in hooks:
            hook.remove()
    return sizes


def fast_unet(net: nn.Module, dtype: torch.dtype, example: torch.Tensor, *args) -> nn.Module:
    """An eval-mode, inference-only copy of `net` (a UNetGenerator on the CPU) that computes in
    `dtype` (fp32 or bf16) on channels_last inputs of that dtype; `example` (and `args`, e.g. a
    latent code) is one typical input: the convs' weights are laid out for its sizes."""
    if dtype not in DTYPES:
        raise ValueError(f"fast_unet computes in {DTYPES}, not {dtype}")
    fast = copy.deepcopy(net).eval().requires_grad_(False)
    swap_modules(fast, dtype, input_sizes(fast, example, *args))
    for module in fast.modules():  # what is left (a latent code's linear layers) in the compute dtype
        if isinstance(module, nn.Linear):
            module.to(dtype)
    return fast


def fast_generator(
    net: nn.Module, device: torch.device, dtype: torch.dtype, size: int, nz: int = 0
) -> nn.Module | None:
    """The fast copy of a U-Net generator served on the CPU in fp32 or bf16 (`dtype`), laid out
    for batches of one `size`-pixel square, after one call (oneDNN builds its kernels then, not
    on a person's first drawing); None where it does not apply (another network, a GPU, fp16, a
    CPU where oneDNN refuses the dtype), which leaves the plain network under autocast."""
    from engine.models.unet import UNetGenerator

    if type(net) is not UNetGenerator or device.type != "cpu" or dtype not in DTYPES:
        return None
    in_channels = net.encoders[0][0].in_channels
    example = torch.zeros(1, in_channels, size, size).contiguous(memory_format=torch.channels_last)
    codes = [torch.zeros(1, nz)] if nz and net.looks is not None else []
    try:
        fast = fast_unet(net, dtype, example, *codes)
        with torch.inference_mode():
            fast(example.to(dtype), *codes)
    except RuntimeError:  # e.g. no bf16 convolutions in this CPU's oneDNN
        return None
    return fast
