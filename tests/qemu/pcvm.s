# pcvm: the tiny VM that tests/qemu/postcopy.py migrates.
#
# A Multiboot (version 1) kernel, 32-bit protected mode, no paging, no
# interrupts.  Assembled and linked at test time:
#     as --32 --defsym BASE=0x400000 --defsym PAGES=8192 --defsym STRIDE=2533 \
#         -o pcvm.o pcvm.s
#     ld -m elf_i386 -N -Ttext 0x100000 -e _start -o pcvm.elf pcvm.o
#
# Memory it owns (physical addresses; BASE, PAGES and STRIDE come from
# --defsym; 0 < STRIDE < PAGES, STRIDE and PAGES coprime):
#   STATE = BASE - 4096: its state page
#     +0  passes completed    +4  STATE_MAGIC
#     +8  last RTC second     +12 ticks printed
#   BASE .. BASE + PAGES * 4096: the work area, one record per 4 KiB page
#     +0  counter: incremented once per pass
#     +4  the page's own physical address
#     +8  PAGE_MAGIC
#
# It prints "pcvm: start base=... pages=...", then forever makes passes
# over the work area, incrementing every page's counter once, and after
# each pass counts it in STATE+0.  A pass visits the pages in the order
# of their index i = k * STRIDE mod PAGES, k = 0, 1, ..., PAGES - 1: with a
# STRIDE other than 1 the order is scattered, so that after the switch to
# postcopy the pages the VM touches are seldom the ones the source is
# sending anyway, and most of them are faulted in on demand.
#
# Whenever the CMOS clock's second has changed since the last line, it
# prints
#     "tick T pass P\n"
# on COM1, T counting the lines (1, 2, 3, ...) and P the passes completed.
# So at any instant the counters read P+1 for the first pages of that
# order and P for the rest.

	.set	MB_MAGIC, 0x1badb002
	.set	MB_FLAGS, 0
	.set	COM1, 0x3f8
	.set	STATE, BASE - 4096
	.set	STATE_MAGIC, 0x53564350		# "PCVS"
	.set	PAGE_MAGIC, 0x474d5650		# "PVMG"

	.text
	.code32
	.globl	_start
	.p2align 2
mbheader:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

_start:
	cli
	cld
	movl	$STATE, %esp		# the stack grows down from STATE

	# Fresh state and work area (RAM is zero at power-on, but be exact).
	movl	$0, STATE
	movl	$STATE_MAGIC, STATE + 4
	movl	$0xff, STATE + 8
	movl	$0, STATE + 12
	movl	$BASE, %edi
	movl	$PAGES, %ecx
1:	movl	$0, (%edi)
	movl	%edi, 4(%edi)
	movl	$PAGE_MAGIC, 8(%edi)
	addl	$4096, %edi
	decl	%ecx
	jnz	1b

	movl	$msg_start, %esi
	call	puts
	movl	$BASE, %eax
	call	puthex
	movl	$msg_pages, %esi
	call	puts
	movl	$PAGES, %eax
	call	putdec
	movb	$'\n', %al
	call	putc

pass:
	xorl	%ebx, %ebx		# page index: 0, STRIDE, 2 * STRIDE, ...
	movl	$PAGES, %ecx
1:	movl	%ebx, %edi
	shll	$12, %edi
	incl	BASE(%edi)
	addl	$STRIDE, %ebx
	cmpl	$PAGES, %ebx
	jb	2f
	subl	$PAGES, %ebx
2:	decl	%ecx
	jnz	1b
	incl	STATE

	call	rtc_seconds
	cmpb	STATE + 8, %al
	je	pass
	movb	%al, STATE + 8
	incl	STATE + 12
	movl	$msg_tick, %esi
	call	puts
	movl	STATE + 12, %eax
	call	putdec
	movl	$msg_pass, %esi
	call	puts
	movl	STATE, %eax
	call	putdec
	movb	$'\n', %al
	call	putc
	jmp	pass

# %al = the CMOS clock's seconds register (whatever its encoding).
rtc_seconds:
	movb	$0x00, %al
	outb	%al, $0x70
	inb	$0x71, %al
	ret

# Write %al to COM1 once its transmitter holding register is empty.
putc:
	pushl	%edx
	pushl	%eax
	movw	$COM1 + 5, %dx
1:	inb	%dx, %al
	testb	$0x20, %al
	jz	1b
	popl	%eax
	movw	$COM1, %dx
	outb	%al, %dx
	popl	%edx
	ret

# Write the NUL-terminated string at %esi.
puts:
	pushl	%eax
1:	lodsb
	testb	%al, %al
	jz	2f
	call	putc
	jmp	1b
2:	popl	%eax
	ret

# Write %eax in decimal.
putdec:
	pushl	%eax
	pushl	%ecx
	pushl	%edx
	pushl	%ebx
	movl	$10, %ebx
	xorl	%ecx, %ecx
1:	xorl	%edx, %edx
	divl	%ebx
	pushl	%edx
	incl	%ecx
	testl	%eax, %eax
	jnz	1b
2:	popl	%eax
	addb	$'0', %al
	call	putc
	decl	%ecx
	jnz	2b
	popl	%ebx
	popl	%edx
	popl	%ecx
	popl	%eax
	ret

# Write %eax as 0x and 8 hex digits.
puthex:
	pushl	%eax
	pushl	%ecx
	pushl	%edx
	movl	%eax, %edx
	movb	$'0', %al
	call	putc
	movb	$'x', %al
	call	putc
	movl	$8, %ecx
1:	roll	$4, %edx
	movb	%dl, %al
	andb	$0x0f, %al
	addb	$'0', %al
	cmpb	$'9', %al
	jbe	2f
	addb	$'a' - '9' - 1, %al
2:	call	putc
	decl	%ecx
	jnz	1b
	popl	%edx
	popl	%ecx
	popl	%eax
	ret

msg_start:
	.asciz	"pcvm: start base="
msg_pages:
	.asciz	" pages="
msg_tick:
	.asciz	"tick "
msg_pass:
	.asciz	" pass "
